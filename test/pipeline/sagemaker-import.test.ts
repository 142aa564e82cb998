import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { literal } from '../../lambdas/features/offline/render-sql';
import { buildTrainingSet } from '../../lambdas/features/offline/training-set';
import type {
  PipelineState,
  TrainedJob,
  TrainingJobRequest,
  TrainingSetRef,
  TrialSpec,
} from '../../lambdas/pipeline/contract';
import { PipelineInputSchema } from '../../lambdas/pipeline/contract';
import type { PipelineDeps } from '../../lambdas/pipeline/deps';
import { MlflowPipelineTracking } from '../../lambdas/pipeline/mlflow-tracking';
import { evaluateCandidate } from '../../lambdas/pipeline/steps/candidate';
import { importCandidate } from '../../lambdas/pipeline/steps/import-candidate';
import { prepareTrainingJob, trainingJobName } from '../../lambdas/pipeline/steps/sagemaker-job';
import { planTrials } from '../../lambdas/pipeline/steps/search';
import { prepareFromInput } from '../../lambdas/pipeline/steps/training-request';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import type { ModelSignature } from '../../lambdas/serving/inference/signature';
import { mlflowCaller } from '../../lambdas/tracking/client/rest';
import { readTable } from '../../lambdas/training/data/read-table';
import { evaluatePredictions } from '../../lambdas/training/evaluation/evaluate';
import { builtInSignature, fitModel } from '../../lambdas/training/trained-model';
import { classifierOnnx } from '../support/onnx-fixtures';

// The import step against the running local platform: the real tracking API (runs,
// metrics, artifact proxy), the filesystem object store, DuckDB and onnxruntime-node.
const apiUrl = inject('apiUrl');
const BUCKET = 'features';
let dir: string;
let store: FsObjectStore;
let tracking: MlflowPipelineTracking;
let deps: PipelineDeps;

const input = PipelineInputSchema.parse({
  featureService: 'propensity',
  entityRows: 'labels/rows.parquet',
  label: 'label',
  modelName: 'sm-import',
  training: { algorithm: 'gbdt', options: { epochs: 12, optimizer: 'adam' } },
});

/** 600 users over 600 hours; the label follows the features, more sharply in later rows. */
async function writeTrainingSet(execution: string): Promise<TrainingSetRef> {
  let seed = 11;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const lines = ['user_id,event_timestamp,tenure,spend,plan,label'];
  for (let i = 0; i < 600; i++) {
    const tenure = rand() * 10;
    const spend = rand() * 100;
    const plan = ['basic', 'plus', 'pro'][Math.floor(rand() * 3)];
    const score = 0.4 * tenure - 0.03 * spend + (plan === 'pro' ? 1 : 0) + (rand() - 0.5) * 3;
    const ts = new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString();
    lines.push(`u${i},${ts},${tenure.toFixed(3)},${spend.toFixed(2)},${plan},${score > 0.5 ? 1 : 0}`);
  }
  const csv = join(dir, `${execution}.csv`);
  writeFileSync(csv, `${lines.join('\n')}\n`);
  const key = `training-sets/${execution}/training-set.parquet`;
  const file = store.uri(BUCKET, key);
  mkdirSync(join(file, '..'), { recursive: true });
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    await engine.run(
      `COPY (SELECT * FROM read_csv_auto(${literal(csv)})) TO ${literal(file)} (FORMAT parquet)`,
    );
  } finally {
    engine.close();
  }
  return {
    key,
    digest: execution,
    rows: 600,
    columns: ['user_id', 'event_timestamp', 'tenure', 'spend', 'plan', 'label'],
    featureColumns: ['tenure', 'spend', 'plan'],
  };
}

/** Packs files into a `.tar.gz` with GNU tar, as a container's /opt/ml/model would be. */
function tarGz(files: Record<string, Uint8Array | string>): Uint8Array {
  const src = mkdtempSync(join(dir, 'model-'));
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(src, name, '..'), { recursive: true });
    writeFileSync(join(src, name), body);
  }
  const out = join(dir, `${Math.random().toString(36).slice(2)}.tar.gz`);
  execFileSync('tar', ['-czf', out, '-C', src, '.']);
  return new Uint8Array(readFileSync(out));
}

interface Scenario {
  readonly state: PipelineState;
  readonly execution: { id: string; name: string };
}

/** A pipeline state up to a finished SageMaker job, with its run open on the local platform. */
async function scenario(name: string): Promise<Scenario & { ref: TrainingSetRef }> {
  const execution = `${name}-${Date.now().toString(36)}`;
  const ref = await writeTrainingSet(execution);
  const run = await tracking.startOrResumeRun({
    experimentName: `sm-import-${execution}`,
    runName: execution,
    tags: { 'mlops.execution_arn': execution },
    identity: ['mlops.execution_arn', execution],
  });
  const plan = {
    trials: [{ index: 0, params: { ...input.training.options } }] as TrialSpec[],
    metric: 'auc',
    count: 1,
  };
  return {
    ref,
    execution: {
      id: `arn:aws:states:us-east-1:123456789012:execution:mlops-test-training:${execution}`,
      name: execution,
    },
    state: { input, run: { runId: run.runId, experimentId: run.experimentId }, trainingSet: ref, plan },
  };
}

async function jobOutput(s: Scenario, files: Record<string, Uint8Array | string>): Promise<PipelineState> {
  const job = await prepareTrainingJob(deps, { state: s.state, execution: s.execution });
  const key = `models/${s.execution.name}/${job.jobName}/output/model.tar.gz`;
  await store.put(BUCKET, key, tarGz(files));
  const trainedJob: TrainedJob = {
    jobName: job.jobName,
    modelArtifacts: `s3://${BUCKET}/${key}`,
    image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:1',
  };
  return { ...s.state, trainingJob: job, trainedJob };
}

async function runData(runId: string) {
  const res = await fetch(`${apiUrl}/api/2.0/mlflow/runs/get?run_id=${runId}`);
  const { run } = (await res.json()) as {
    run: { data: { metrics?: { key: string; value: number }[]; params?: { key: string; value: string }[] } };
  };
  return {
    metrics: Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value])),
    params: Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value])),
  };
}

async function artifactPaths(runId: string, path: string): Promise<string[]> {
  const res = await fetch(`${apiUrl}/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=${path}`);
  const body = (await res.json()) as { files?: { path: string }[] };
  return (body.files ?? []).map((f) => f.path).sort();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlops-sm-import-'));
  store = new FsObjectStore(join(dir, 's3'));
  tracking = new MlflowPipelineTracking(mlflowCaller(apiUrl));
  deps = { store, bucket: BUCKET, tracking, trainingSets: buildTrainingSet };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Plan Trials for a SageMaker trainer without tuning', () => {
  it("plans one trial with the container's options, which the built-in search would refuse", async () => {
    const s = await scenario('plan');
    const planned = await planTrials(deps, {
      state: s.state,
      execution: s.execution,
      planning: 'configured',
    });
    expect(planned).toEqual({
      trials: [{ index: 0, params: { epochs: 12, optimizer: 'adam' } }],
      metric: 'auc',
      count: 1,
    });
    await expect(planTrials(deps, { state: s.state, execution: s.execution })).rejects.toThrow(/epochs/);
  });
});

describe('Prepare Training Job', () => {
  it('gives the container only the training rows of the time split, and a stable unique job name', async () => {
    const s = await scenario('prep');
    const job: TrainingJobRequest = await prepareTrainingJob(deps, {
      state: s.state,
      execution: s.execution,
    });
    expect(job.trainUri).toBe(`s3://${BUCKET}/training-sets/${s.execution.name}/train/`);
    expect(job.outputUri).toBe(`s3://${BUCKET}/models/${s.execution.name}/`);
    expect(job.hyperparameters).toEqual({ epochs: '12', optimizer: 'adam' });
    const written = await readTable(
      store.uri(BUCKET, `training-sets/${s.execution.name}/train/train.parquet`),
    );
    expect(written.rowCount).toBe(480);
    expect(job.trainRows).toBe(480);
    expect([...written.columns.keys()]).toEqual(s.ref.columns);
    // The latest 20% (the test rows) are never in the container's channel.
    const times = written.columns.get('event_timestamp') as Float64Array;
    expect(Math.max(...times)).toBe(Date.UTC(2026, 0, 1) + 479 * 3_600_000);
    const again = await prepareTrainingJob(deps, { state: s.state, execution: s.execution });
    expect(again.jobName).toBe(job.jobName);
  });

  it('names jobs within SageMaker limits, distinct for executions whose names differ only in symbols', () => {
    const long = `weekly_${'x'.repeat(120)}`;
    const a = trainingJobName('arn:...:execution:sm:run_1', 'run_1');
    const b = trainingJobName('arn:...:execution:sm:run-1', 'run-1');
    const c = trainingJobName(`arn:...:execution:sm:${long}`, long);
    for (const n of [a, b, c]) expect(n).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    expect(a).not.toBe(b);
    expect(c.length).toBeLessThanOrEqual(63);
  });
});

describe('Import Candidate', () => {
  it('imports a model.onnx from the job output and records what the built-in path records', async () => {
    const s = await scenario('import');
    // The "container": our own trainer, fitted on the training rows only.
    const dataset = await readTable(store.uri(BUCKET, s.ref.key));
    const prep = prepareFromInput(dataset, input, s.ref, { maxIterations: 15 });
    const model = fitModel(
      prep.parsed,
      prep.task,
      prep.features,
      prep.train.X,
      prep.train.y,
      undefined,
      () => {},
    );
    const signature = builtInSignature(prep.features, prep.task);
    const state = await jobOutput(s, { 'model.onnx': model.exportOnnx(), 'code/train.py': 'print(1)\n' });

    const candidate = await importCandidate(deps, {
      state,
      execution: s.execution,
      signature: JSON.stringify(signature),
    });

    const expected = evaluatePredictions(prep.task, prep.test.y, model.predict(prep.test.X), prep.threshold);
    expect(candidate.runId).toBe(s.state.run.runId);
    expect(candidate.testMetrics['auc']).toBeCloseTo(expected.metrics['auc'] as number, 12);
    expect(candidate.params).toEqual({ epochs: 12, optimizer: 'adam' });
    const { metrics, params } = await runData(s.state.run.runId);
    expect(metrics['test_auc']).toBeCloseTo(expected.metrics['auc'] as number, 12);
    expect(metrics['test_log_loss']).toBeCloseTo(expected.metrics['log_loss'] as number, 12);
    expect(params).toMatchObject({
      test_rows: '120',
      train_rows: '480',
      epochs: '12',
      algorithm: 'sagemaker',
    });
    expect(await artifactPaths(s.state.run.runId, 'model')).toEqual([
      'model/MLmodel',
      'model/model.onnx',
      'model/signature.json',
    ]);
    expect(await artifactPaths(s.state.run.runId, 'evaluation')).toContain('evaluation/evaluation.json');
    expect(await artifactPaths(s.state.run.runId, 'profile')).toEqual(['profile/baseline_profile.json']);
    const onnx = await tracking.readArtifact(s.state.run.runId, 'model/model.onnx');
    expect(Buffer.from(onnx).equals(Buffer.from(model.exportOnnx()))).toBe(true);
    const evaluation = JSON.parse(
      new TextDecoder().decode(await tracking.readArtifact(s.state.run.runId, 'evaluation/evaluation.json')),
    );
    expect(evaluation.split).toBe('time:event_timestamp:0.2');
    expect(evaluation.candidate.metrics.auc).toBeCloseTo(expected.metrics['auc'] as number, 12);

    // Evaluate Candidate takes the imported candidate as it is, container hyperparameters and all.
    const verdict = await evaluateCandidate(deps, { state: { ...state, candidate }, execution: s.execution });
    expect(verdict.candidate).toEqual(candidate.testMetrics);
    expect(verdict.productionVersion).toBeNull();
  });

  it('rejects a ZipMap model with how to re-export it, before writing anything to the run', async () => {
    const s = await scenario('zipmap');
    const signature: ModelSignature = {
      tensorInput: { name: 'float_input', elementType: 'float' },
      inputs: [
        { name: 'tenure', type: 'float' },
        { name: 'spend', type: 'float' },
      ],
      outputs: [{ name: 'probabilities', meaning: 'probability' }],
    };
    const state = await jobOutput(s, { 'model.onnx': classifierOnnx(true) });
    await expect(importCandidate(deps, { state, execution: s.execution, signature })).rejects.toThrow(
      /'probabilities' \(sequence<map>\) is not a tensor.*zipmap': False/,
    );
    expect(await artifactPaths(s.state.run.runId, 'model')).toEqual([]);
    expect(Object.keys((await runData(s.state.run.runId)).metrics)).not.toContain('test_auc');
  });

  it('rejects a model that does not match the configured signature, naming the input', async () => {
    const s = await scenario('mismatch');
    const sklearnLike = classifierOnnx(false);
    const state = await jobOutput(s, { 'model.onnx': sklearnLike });
    const base = { outputs: [{ name: 'probability_tensor', meaning: 'probability' as const }] };
    // Declared as separate inputs, but the model takes one packed tensor.
    await expect(
      importCandidate(deps, {
        state,
        execution: s.execution,
        signature: {
          ...base,
          inputs: [
            { name: 'tenure', type: 'float' },
            { name: 'spend', type: 'float' },
          ],
        },
      }),
    ).rejects.toThrow(/Signature input 'tenure' is not a model input \(inputs: float_input\)/);
    // Matches the model, but names a column the feature service does not have.
    await expect(
      importCandidate(deps, {
        state,
        execution: s.execution,
        signature: {
          ...base,
          tensorInput: { name: 'float_input', elementType: 'float' },
          inputs: [
            { name: 'tenure', type: 'float' },
            { name: 'salary', type: 'float' },
          ],
        },
      }),
    ).rejects.toThrow(
      /Signature input 'salary' is not a feature of the training set \(features: tenure, spend, plan\)/,
    );
    expect(await artifactPaths(s.state.run.runId, 'model')).toEqual([]);
  });

  it('says where the container must write the model when the archive has no model.onnx', async () => {
    const s = await scenario('nomodel');
    const state = await jobOutput(s, { 'model.pkl': 'not onnx' });
    await expect(importCandidate(deps, { state, execution: s.execution, signature: {} })).rejects.toThrow(
      /no 'model.onnx' at its root \(it holds: model.pkl\).*\/opt\/ml\/model\/model.onnx/,
    );
  });
});
