import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { profileNumeric } from '../../lambdas/monitoring/profile/baseline-profile';
import { rowsToDataset } from '../../lambdas/serving/domain/rows';
import { scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import { createRng } from '../../lambdas/training/random';
import { type TinyModel, trainTiny, useServingRuntime } from './support';

// The platform's own serving function, its deployment workflow and per-variant alarms, from
// the template; each version's baseline profile is logged with its run, as training logs it.
const s = useServingRuntime({
  prefix: 'shift',
  // Latency is not what these tests judge on a loaded machine; the shift threshold is the default.
  config: { alarms: { latencyP99Ms: 60_000 } },
  // A 60 s alarm period lasts 1 s here.
  alarmTimeScale: 1 / 60,
  timeoutMs: 180_000,
});
const NAME = s.name;
const { call, alias } = s;

type Row = Record<string, number | string | null>;

/** Rows of the population the models were trained on (spend around `mean`), in a fixed order. */
function population(n: number, mean: number, sd: number, seed: number): Row[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => ({
    spend: rng.normal() * sd + mean,
    plan: ['basic', 'pro', 'team'][rng.int(3)] as string,
  }));
}

// Live traffic looks like the training population: spend around 50.
const TRAFFIC = population(400, 50, 10, 101);

/**
 * Registers a version whose run logged the model and a baseline profile of its predictions
 * on `baselineRows` (what training writes for its test set).
 */
async function register(model: TinyModel, baselineRows: Row[]): Promise<string> {
  const predictions = await scoreOnnx(
    model.onnx,
    model.signature,
    rowsToDataset(model.signature, baselineRows),
  );
  const profile = {
    version: 1,
    rows: baselineRows.length,
    features: {},
    predictions: profileNumeric(predictions, 20, [0, 1]),
  };
  return s.register(model, { files: { 'profile/baseline_profile.json': JSON.stringify(profile) } });
}

/** Clients keep predicting on live traffic through the gateway while `work` runs. */
async function underLoad<T>(work: () => Promise<T>): Promise<{ result: T; answered: Map<string, number> }> {
  let done = false;
  const answered = new Map<string, number>();
  const client = async (k: number) => {
    for (let i = k * 17; !done; i += 5) {
      const instances = Array.from({ length: 5 }, (_, j) => TRAFFIC[(i + j) % TRAFFIC.length]);
      const res = await call('POST', `/v1/models/${NAME}/predict`, { instances });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      const v = String(res.json.model_version);
      answered.set(v, (answered.get(v) ?? 0) + 1);
    }
  };
  const clients = Array.from({ length: 4 }, (_, k) => client(k));
  try {
    return { result: await work(), answered };
  } finally {
    done = true;
    await Promise.all(clients);
  }
}

beforeAll(async () => {
  // The live version: in Production, with a baseline like its traffic.
  const first = await register(trainTiny('logistic', 5), population(2_000, 50, 10, 1));
  await call('POST', 'model-versions/transition-stage', { name: NAME, version: first, stage: 'Production' });
}, 180_000);

describe('the canary’s prediction-shift alarm', () => {
  it('rolls back a version whose predictions on live traffic left its baseline, naming the alarm', async () => {
    const before = await alias();
    // Its test set was another population (spend around 20): on today's traffic its
    // predictions fall mostly outside that baseline's central 98%.
    const version = await register(trainTiny('logistic', 6), population(2_000, 20, 3, 2));
    const { result: execution, answered } = await underLoad(() =>
      s.runtime.stepFunctions.run(s.deploymentMachine, {
        name: `deploy-${NAME}-${version}-${Date.now()}`,
        input: { request: { model: NAME, version, steps: [50, 100], bakeSeconds: 3 } },
      }),
    );
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.Error).toBe('CanaryRolledBack');
    expect(answered.get(version) ?? 0).toBeGreaterThan(0);
    const tags = (await s.registry.getVersion(NAME, version))?.tags ?? {};
    expect(tags['mlops.deployment.status']).toBe('rolled_back');
    expect(tags['mlops.deployment.rollback_reason']).toMatch(
      /PredictionShift.*Average of PredictionShift breached/,
    );
    expect(tags['mlops.deployment.rollback_reason']).not.toMatch(/ErrorRate|LatencyP99/);
    expect(tags['mlops.deployment.steps']).toMatch(/^50%@[^,]+$/);
    expect(await alias()).toEqual(before);
  }, 180_000);

  it('takes a version whose predictions match its baseline to 100%, having measured the shift', async () => {
    const version = await register(trainTiny('logistic', 9), population(2_000, 50, 10, 3));
    const { result: execution } = await underLoad(() =>
      s.runtime.stepFunctions.run(s.deploymentMachine, {
        name: `deploy-${NAME}-${version}-${Date.now()}`,
        input: { request: { model: NAME, version, steps: [50, 100], bakeSeconds: 3 } },
      }),
    );
    expect(execution.status, JSON.stringify(execution.error)).toBe('SUCCEEDED');
    const tags = (await s.registry.getVersion(NAME, version))?.tags ?? {};
    expect(tags['mlops.deployment.status']).toBe('live');
    expect((await alias()).version).toBe(tags['mlops.deployment.lambda_version']);
    // Its lines carried the shift metric: the alarm judged it on data, not on silence.
    const lines = readFileSync(join(s.dataDir, 'logs', 'predictions.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((l) => l.version === version && l.status === 200);
    expect(lines.length).toBeGreaterThan(0);
    const flags = lines.flatMap((l) => l.PredictionShift as number[]);
    expect(flags.length).toBe(lines.reduce((n, l) => n + l.rows, 0));
    expect(flags.filter((f) => f === 1).length / flags.length).toBeLessThan(0.2);
  }, 180_000);
});

describe('a manual rollback during a canary', () => {
  it('stops the running workflow and returns all traffic to the previous version, recorded', async () => {
    const before = await alias();
    const version = await register(trainTiny('logistic', 11), population(2_000, 50, 10, 4));
    const started = await call('POST', '/v1/deployments', {
      model: NAME,
      version,
      steps: [5, 50, 100],
      bake_seconds: 600,
    });
    expect(started.status, JSON.stringify(started.json)).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: asserted field by field
    let record: any;
    for (let i = 0; i < 120 && record?.traffic !== '5'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const status = (await call('GET', `/v1/deployments/${NAME}`)).json;
      record = status.deployments.find((d: { version: string }) => d.version === version);
    }
    expect(record).toMatchObject({ status: 'canary', traffic: '5', execution: started.json.execution_name });
    expect((await alias()).weights).toEqual({ [record.lambda_version]: 0.05 });

    const rolled = await call('POST', `/v1/deployments/${NAME}/rollback`, { reason: 'looks wrong' });
    expect(rolled.status, JSON.stringify(rolled.json)).toBe(200);
    expect(rolled.json).toMatchObject({ version, stopped_execution: started.json.execution_name });
    const execution = s.runtime.stepFunctions.describe(s.deploymentMachine, started.json.execution_name);
    expect(execution?.status).toBe('ABORTED');
    expect(execution?.error).toMatchObject({ Error: 'ManualRollback' });
    expect(await alias()).toEqual(before);
    const tags = (await s.registry.getVersion(NAME, version))?.tags ?? {};
    expect(tags).toMatchObject({
      'mlops.deployment.status': 'rolled_back',
      'mlops.deployment.traffic': '0',
      'mlops.deployment.rollback_reason': 'looks wrong',
    });
  }, 180_000);
});
