import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planAthenaTrainingSet } from '../../lambdas/features/athena/athena-plan';
import { buildTrainingSetOnAthena } from '../../lambdas/features/athena/athena-training-set';
import { selectFeatures } from '../../lambdas/features/definitions/selection';
import { viewDateRange } from '../../lambdas/features/offline/partition-dates';
import { buildTrainingSet } from '../../lambdas/features/offline/training-set';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import { DuckAthena } from './athena-standin';
import { BUCKET, fixture, ingestAll, makeWorld, readRows, type World } from './support';

let w: World;
let athena: DuckAthena;
beforeAll(async () => {
  w = await makeWorld('pit-definitions.yaml');
  await ingestAll(w, [
    ['purchases', 'purchases-a.csv'],
    ['purchases', 'purchases-b.csv'],
    ['profiles', 'profiles.csv'],
    ['risk_scores', 'risk.csv'],
  ]);
  athena = new DuckAthena(w.engine, join(w.dir, 's3'));
  // A batch caught between its data files and its manifest: a newer purchase of user 1 that
  // would change amount, category and the aggregations at T if Athena read it.
  await w.engine.write(
    `SELECT 1::BIGINT AS user_id, TIMESTAMPTZ '2024-03-10 11:59:59.5+00' AS ts, TIMESTAMPTZ '2024-03-10 12:05:00+00' AS created, 999.0::DOUBLE AS amount, 'uncommitted' AS category`,
    await dirOf(join(w.dir, 's3', BUCKET, 'offline', 'purchases', 'date=2024-03-10', 'halfway-0.parquet')),
    'parquet',
  );
});
afterAll(() => w.close());

async function dirOf(file: string): Promise<string> {
  await mkdir(join(file, '..'), { recursive: true });
  return file;
}

const deps = () => ({
  repo: w.repo,
  engine: w.engine,
  store: w.store,
  bucket: BUCKET,
  database: 'features_test',
  catalog: athena,
  athena,
});

const T = Date.parse('2024-03-10T12:00:00Z');
const DAY = 86_400_000;

describe('training sets on Athena: the plan', () => {
  const selection = () => selectFeatures(w.repo, { featureService: 'fraud_v1' });
  const input = () => ({
    id: 'Exec-42',
    bucket: 'feat-bucket',
    database: 'features_prod',
    selection: selection(),
    timestampColumn: 'event_timestamp',
    entityColumns: [
      { Name: 'user_id', Type: 'bigint' },
      { Name: 'event_timestamp', Type: 'timestamp' },
      { Name: 'label', Type: 'bigint' },
    ],
    committedDates: new Map([
      ['purchases', { from: '2024-02-01', to: '2024-03-10' }],
      ['profiles', { from: '2024-01-01', to: '2024-03-10' }],
      ['risk', { from: '2024-03-09', to: '2024-03-10' }],
    ]),
    entityTimes: { min: T - 7 * DAY, max: T },
  });

  it('uploads, registers, clears, unloads and digests in that order, then drops both temporary tables', () => {
    const plan = planAthenaTrainingSet(input());
    const ops = plan.steps.map((s) =>
      s.op === 'create-table' ? `create ${s.request.TableInput.Name}` : `${s.op}`,
    );
    expect(ops).toEqual([
      'upload-entity-rows',
      expect.stringMatching(/^create ts_exec_42_[0-9a-f]{8}_entity_rows$/),
      expect.stringMatching(/^create ts_exec_42_[0-9a-f]{8}_data$/),
      'clear-prefix',
      'unload',
      'digest',
    ]);
    expect(plan.entityRowsKey).toBe('training-sets/Exec-42/entity-rows/entity-rows.parquet');
    expect(plan.steps[3]).toEqual({ op: 'clear-prefix', prefix: 'training-sets/Exec-42/data/' });
    expect(plan.steps[4]).toMatchObject({
      op: 'unload',
      uri: 's3://feat-bucket/training-sets/Exec-42/data/',
    });
    expect(plan.cleanup.map((s) => (s.op === 'drop-table' ? s.name : s.op))).toEqual([
      expect.stringMatching(/_entity_rows$/),
      expect.stringMatching(/_data$/),
    ]);
    const data = plan.steps[2];
    if (data?.op !== 'create-table') throw new Error('expected the data table');
    // The row id is kept first so readers can sort UNLOAD's unordered files.
    expect(data.request.TableInput.StorageDescriptor.Columns.map((c) => `${c.Name}:${c.Type}`)).toEqual([
      '__row_id:bigint',
      'user_id:bigint',
      'event_timestamp:timestamp',
      'label:bigint',
      'amount:double',
      'category:string',
      'purchase_count_7d:bigint',
      'amount_sum_7d:double',
      'amount_last_7d:double',
      'amount_max_1h:double',
      'tier:string',
      'score:double',
    ]);
  });

  it('reads each view through its committed manifests and prunes partitions to what the entity rows can reach', () => {
    const plan = planAthenaTrainingSet(input());
    expect(plan.sql).toContain(`"committed_purchases" AS (SELECT`);
    expect(plan.sql).toContain(`"$path" IN (SELECT 's3://feat-bucket/' || k FROM "manifests_purchases"`);
    // purchases: ttl 1d and a 7d window reach back 7 days before the earliest entity row.
    expect(plan.sql).toContain(`"date" BETWEEN '2024-02-25' AND '2024-03-10'`);
    const v = w.repo.views.get('profiles');
    if (!v) throw new Error('fixture view missing');
    // profiles has no TTL: any committed date may hold the latest value.
    expect(
      viewDateRange(v, selection().features, { from: '2024-01-01', to: '2024-03-10' }, { min: T, max: T }),
    ).toEqual({
      from: '2024-01-01',
      to: '2024-03-10',
    });
    expect(plan.sql).not.toContain('ASOF');
  });

  it('refuses a bad id and on-demand features before anything is written', () => {
    expect(() => planAthenaTrainingSet({ ...input(), id: '../x' })).toThrow(InvalidParameterError);
    expect(() => planAthenaTrainingSet({ ...input(), id: '../x' })).toThrow(/training-set id '..\/x'/);
    const odv = { ...selection(), onDemandViews: ['cart'] };
    expect(() => planAthenaTrainingSet({ ...input(), selection: odv })).toThrow(
      /on-demand feature views \(cart\)/,
    );
  });
});

describe('training sets on Athena: run on DuckDB stand-ins over the same files', () => {
  it('gives the same rows and digest as the local build and never reads an uncommitted batch', async () => {
    const local = await buildTrainingSet(
      { repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET },
      {
        entityRows: fixture('entity-rows.csv'),
        featureService: 'fraud_v1',
        output: join(w.dir, 'local.parquet'),
      },
    );
    const { applyCatalog } = await import('../../lambdas/features/athena/table-catalog');
    await applyCatalog(athena, w.repo, undefined, BUCKET, 'features_test');
    const out = join(w.dir, 'athena.parquet');
    const r = await buildTrainingSetOnAthena(deps(), {
      entityRows: fixture('entity-rows.csv'),
      featureService: 'fraud_v1',
      output: out,
      id: 'run-1',
    });
    expect(await readRows(w.engine, out)).toEqual(await readRows(w.engine, local.output));
    expect(r.digest).toBe(local.digest);
    expect(r.columns).toEqual(local.columns);
    expect(r.rows).toBe(8);
    expect(r.dataUri).toBe(`s3://${BUCKET}/training-sets/run-1/data/`);
    const unloaded = await w.store.list(BUCKET, 'training-sets/run-1/');
    expect(unloaded.map((o) => o.key)).toEqual([
      'training-sets/run-1/data/a-1',
      'training-sets/run-1/data/b-0',
      'training-sets/run-1/entity-rows/entity-rows.parquet',
    ]);
    expect([...athena.tables.keys()].filter((t) => t.startsWith('ts_'))).toEqual([]);
  });

  it('reruns into the same id by clearing the data folder first', async () => {
    await writeFile(
      await dirOf(join(w.dir, 's3', BUCKET, 'training-sets', 'run-3', 'data', 'orphan')),
      'left by a failed UNLOAD',
    );
    const r = await buildTrainingSetOnAthena(deps(), {
      entityRows: fixture('entity-rows.csv'),
      features: ['purchases:amount'],
      id: 'run-3',
    });
    expect(r.output).toBe(r.dataUri);
    const keys = (await w.store.list(BUCKET, 'training-sets/run-3/data/')).map((o) => o.key);
    expect(keys).toEqual(['training-sets/run-3/data/a-1', 'training-sets/run-3/data/b-0']);
  });

  it('drops the temporary tables when the query fails', async () => {
    const failing = Object.assign(Object.create(athena) as DuckAthena, {
      write: async () => {
        throw new Error('Athena query FAILED');
      },
    });
    await expect(
      buildTrainingSetOnAthena(
        { ...deps(), athena: failing },
        { entityRows: fixture('entity-rows.csv'), features: ['purchases:amount'], id: 'run-2' },
      ),
    ).rejects.toThrow('Athena query FAILED');
    expect([...athena.tables.keys()].filter((t) => t.startsWith('ts_'))).toEqual([]);
  });
});
