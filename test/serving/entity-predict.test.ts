import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeRegistry } from '../../lambdas/features/definitions/feature-registry-store';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { ingestBatch } from '../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { rowsToDataset } from '../../lambdas/serving/domain/rows';
import { scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import { us } from '../features/online/support';
import { type TinyModel, trainTiny, useServingRuntime } from './support';

// Entity keys in, features read from the online store the materialization state machine
// filled, the model's prediction out: the whole path through the local gateway.
const definitions = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: [
    {
      name: 'usage',
      kind: 'file',
      format: 'csv',
      path: 'unused.csv',
      columns: [
        { name: 'user_id', type: 'int64' },
        { name: 'ts', type: 'timestamp' },
        { name: 'spend', type: 'float64' },
        { name: 'plan', type: 'string' },
      ],
    },
  ],
  featureViews: [
    {
      name: 'usage',
      entities: ['user'],
      source: 'usage',
      timestampField: 'ts',
      features: [
        { name: 'spend', type: 'float64' },
        { name: 'plan', type: 'string' },
      ],
    },
  ],
  featureServices: [{ name: 'churn_features', features: ['usage'] }],
};
/** The latest row per user is what the online store serves; user 3's older row must not be. */
const CSV = [
  'user_id,ts,spend,plan',
  '1,2024-05-01T10:00:00Z,35,basic',
  '2,2024-05-01T10:00:00Z,62.5,pro',
  '3,2024-04-20T10:00:00Z,10,basic',
  '3,2024-05-01T11:00:00Z,71,team',
  '4,2024-05-01T10:00:00Z,,pro',
];
/** What the model must be fed for users 2, 1, 3, 4 and 99 (never ingested: every feature missing). */
const EXPECTED_ROWS = [
  { spend: 62.5, plan: 'pro' },
  { spend: 35, plan: 'basic' },
  { spend: 71, plan: 'team' },
  { spend: null, plan: 'pro' },
  { spend: null, plan: null },
];

const s = useServingRuntime({ prefix: 'entity' });
const NAME = s.name;
const { call } = s;
let model: TinyModel;

beforeAll(async () => {
  const { runtime, dir } = s;
  // The feature repo applied, the rows ingested offline, then materialized online by the
  // template's state machine.
  const store = new FsObjectStore(runtime.env.MLOPS_LOCAL_S3_ROOT as string);
  const repo = buildRepo({ file: definitions as never });
  await writeRegistry(store, 'features', repo, 0);
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    const file = join(dir, 'usage.csv');
    await writeFile(file, CSV.join('\n'));
    const r = await ingestBatch({ repo, engine, store, bucket: 'features' }, { source: 'usage', file });
    expect(r.status).toBe('ingested');
  } finally {
    engine.close();
  }
  const exec = await runtime.stepFunctions.run('Materialization', {
    name: 'serving-entities',
    input: {
      action: 'plan',
      views: ['usage'],
      start: us('2024-04-01T00:00:00Z'),
      end: us('2024-06-01T00:00:00Z'),
    },
  });
  expect(exec.status, JSON.stringify(exec.error)).toBe('SUCCEEDED');

  // The model version names its feature service on its run, as the pipeline tags it.
  model = trainTiny('gbdt', 11);
  expect(await s.register(model, { tags: { 'mlops.feature_service': 'churn_features' } })).toBe('1');
  await call('POST', 'model-versions/transition-stage', { name: NAME, version: '1', stage: 'Production' });
}, 600_000);

describe('entity-key predictions through the local gateway', () => {
  it('read the features online and equal the model’s output on the same feature values', async () => {
    const expected = Array.from(
      await scoreOnnx(model.onnx, model.signature, rowsToDataset(model.signature, EXPECTED_ROWS)),
    );
    let res = await call('POST', `/v1/models/${NAME}/predict`, { entities: { user_id: [2, 1, 3, 4, 99] } });
    // The function may still be loading the version it found in Production a moment ago.
    for (let i = 0; i < 40 && res.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 250));
      res = await call('POST', `/v1/models/${NAME}/predict`, { entities: { user_id: [2, 1, 3, 4, 99] } });
    }
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toMatchObject({ model_name: NAME, model_version: '1' });
    expect(res.json.predictions).toEqual(expected);
    // Feeding the stale row of user 3 would give another answer.
    const stale = await scoreOnnx(
      model.onnx,
      model.signature,
      rowsToDataset(model.signature, [{ spend: 10, plan: 'basic' }]),
    );
    expect(stale[0]).not.toBe(expected[2]);

    // The prediction log holds the keys and the values the model was fed.
    const line = readFileSync(join(s.dataDir, 'logs', 'predictions.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l.request_id === res.json.request_id);
    expect(line).toMatchObject({
      entities: { user_id: [2, 1, 3, 4, 99] },
      inputs: { spend: [62.5, 35, 71, null, null], plan: ['pro', 'basic', 'team', 'pro', null] },
      predictions: expected,
    });
  }, 120_000);
});
