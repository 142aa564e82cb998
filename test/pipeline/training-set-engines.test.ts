import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { athenaTrainingSets } from '../../lambdas/features/athena/athena-backend';
import { applyCatalog } from '../../lambdas/features/athena/table-catalog';
import { writeRegistry } from '../../lambdas/features/definitions/feature-registry-store';
import { buildTrainingSet, type TrainingSetBuilder } from '../../lambdas/features/offline/training-set';
import { PipelineInputSchema, type PipelineState } from '../../lambdas/pipeline/contract';
import type { PipelineDeps } from '../../lambdas/pipeline/deps';
import { MlflowPipelineTracking } from '../../lambdas/pipeline/mlflow-tracking';
import { buildPipelineTrainingSet } from '../../lambdas/pipeline/steps/data';
import { mlflowCaller } from '../../lambdas/tracking/client/rest';
import { DuckAthena } from '../features/athena-standin';
import { BUCKET, fixture, ingestAll, makeWorld, readRows, type World } from '../features/support';

// The Build Training Set step with each offline engine its composition root can inject:
// DuckDB over the local store, and the Athena builder (Athena and Glue stood in by DuckDB
// over the same files, test/features/athena-standin.ts). Tracking is the local platform's API.
const apiUrl = inject('apiUrl');
let w: World;
let tracking: MlflowPipelineTracking;

beforeAll(async () => {
  w = await makeWorld('pit-definitions.yaml');
  await ingestAll(w, [
    ['purchases', 'purchases-a.csv'],
    ['purchases', 'purchases-b.csv'],
    ['profiles', 'profiles.csv'],
    ['risk_scores', 'risk.csv'],
  ]);
  await writeRegistry(w.store, BUCKET, w.repo, 0);
  await w.store.put(BUCKET, 'labels/rows.csv', await readFile(fixture('entity-rows.csv')));
  tracking = new MlflowPipelineTracking(mlflowCaller(apiUrl));
});
afterAll(() => w.close());

async function buildWith(name: string, trainingSets: TrainingSetBuilder) {
  const execution = `${name}-${Date.now().toString(36)}`;
  const run = await tracking.startOrResumeRun({
    experimentName: `engines-${execution}`,
    runName: execution,
    tags: { 'mlops.execution_arn': execution },
    identity: ['mlops.execution_arn', execution],
  });
  const deps: PipelineDeps = { store: w.store, bucket: BUCKET, tracking, trainingSets };
  const state = {
    input: PipelineInputSchema.parse({
      featureService: 'fraud_v1',
      entityRows: 'labels/rows.csv',
      label: 'label',
      modelName: 'engines',
    }),
    run: { runId: run.runId, experimentId: run.experimentId },
  } as PipelineState;
  const ref = await buildPipelineTrainingSet(deps, {
    state,
    execution: { id: `arn:${execution}`, name: execution },
  });
  return { ref, rows: await readRows(w.engine, w.store.uri(BUCKET, ref.key)) };
}

describe('the Build Training Set step, whichever offline engine is injected', () => {
  it('stores the same rows and records the same digest with DuckDB and with the Athena builder', async () => {
    const athena = new DuckAthena(w.engine, join(w.dir, 's3'));
    const settings = { workGroup: 'features-test', database: 'features_test', bucket: BUCKET };
    // `features apply` registered the views' tables, as on AWS.
    await applyCatalog(athena, w.repo, undefined, BUCKET, settings.database);
    const local = await buildWith('duckdb', buildTrainingSet);
    const onAthena = await buildWith('athena', athenaTrainingSets(settings, { catalog: athena, athena }));

    // The Athena builder really ran: its query was unloaded under the execution's id.
    expect(athena.log.some((l) => l.startsWith('unload ') && l.includes('athena-'))).toBe(true);
    expect(local.ref.rows).toBeGreaterThan(0);
    expect(onAthena.ref).toMatchObject({
      digest: local.ref.digest,
      rows: local.ref.rows,
      columns: local.ref.columns,
      featureColumns: local.ref.featureColumns,
    });
    expect(onAthena.rows).toEqual(local.rows);
  });
});
