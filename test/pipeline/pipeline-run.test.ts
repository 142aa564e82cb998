import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../local/pipeline';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { type DemoSeed, demoInput, seedDemo } from '../../local/start';

// The synthesized state machine, run locally end to end on generated data: the same
// definition and handler modules that `cdk deploy` ships.
let rt: LocalRuntime;
let dataDir: string;
let seed: DemoSeed;
// biome-ignore lint/suspicious/noExplicitAny: MLflow responses are asserted field by field
let api: (method: string, path: string, body?: unknown) => Promise<any>;

const MODEL = 'propensity-test';
const input = (overrides: Record<string, unknown> = {}) =>
  demoInput(seed, {
    modelName: MODEL,
    training: { algorithm: 'gbdt', strategy: 'random', maxTrials: 3 },
    ...overrides,
  });

async function versions(): Promise<{ version: string; current_stage: string }[]> {
  const r = await api('GET', `model-versions/search?filter=${encodeURIComponent(`name='${MODEL}'`)}`);
  return r.model_versions ?? [];
}

async function runsOf(experimentId: string) {
  const r = await api('POST', 'runs/search', { experiment_ids: [experimentId], max_results: 1000 });
  return r.runs ?? [];
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-pipeline-'));
  rt = await startLocalRuntime({ port: 0, dataDir, inMemory: true });
  seed = await seedDemo(rt, { users: 300, seed: 7 });
  api = async (method, path, body) => {
    const res = await fetch(`${rt.url}/api/2.0/mlflow/${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
    return json;
  };
}, 120_000);

afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the training pipeline, run locally from the synthesized definition', () => {
  let first: Awaited<ReturnType<typeof runPipeline>>;

  it('registers a winning candidate in Staging and tracks the execution as one parent run with trial children', async () => {
    const lines: string[] = [];
    first = await runPipeline(rt, { name: 'first', input: input(), progress: (l) => lines.push(l) });
    expect(first.status).toBe('SUCCEEDED');
    expect(lines.some((l) => l.includes('▶ Train Candidate'))).toBe(true);
    const state = first.output as Record<string, any>;
    expect(state.registration).toMatchObject({ modelName: MODEL, version: '1', stage: 'Staging' });
    const [v] = await versions();
    expect(v).toMatchObject({ version: '1', current_stage: 'Staging' });

    const { run } = await api('GET', `runs/get?run_id=${state.run.runId}`);
    const tags = Object.fromEntries(
      run.data.tags.map((t: { key: string; value: string }) => [t.key, t.value]),
    );
    expect(tags['mlops.execution_arn']).toMatch(/execution:.*:first$/);
    expect(tags['mlops.trigger']).toBe('manual');
    expect(tags['mlops.dataset.digest']).toBe(state.trainingSet.digest);
    expect(tags['mlops.outcome']).toBe('registered');
    expect(run.info.status).toBe('FINISHED');
    const metricKeys = run.data.metrics.map((m: { key: string }) => m.key);
    for (const step of ['startRun', 'buildTrainingSet', 'runTrial', 'trainCandidate', 'evaluateCandidate']) {
      expect(metricKeys.filter((k: string) => k === `step_seconds.${step}`).length, step).toBeGreaterThan(0);
    }
    expect(metricKeys).toContain('test_auc');
    const children = (await runsOf(state.run.experimentId)).filter((r: any) =>
      r.data.tags?.some((t: any) => t.key === 'mlflow.parentRunId' && t.value === state.run.runId),
    );
    expect(children).toHaveLength(3);
  });

  it('does not train twice when the same execution name runs again', async () => {
    const before = await runsOf(first.state!.run.experimentId);
    const again = await runPipeline(rt, { name: 'first', input: input() });
    expect(again.reused).toBe(true);
    expect(again.status).toBe('SUCCEEDED');
    expect(await runsOf(first.state!.run.experimentId)).toHaveLength(before.length);
    expect(await versions()).toHaveLength(1);
  });

  it('does not register a candidate that fails the promotion rule against Production, and records why', async () => {
    await api('POST', 'model-versions/transition-stage', { name: MODEL, version: '1', stage: 'Production' });
    const r = await runPipeline(rt, {
      name: 'loser',
      input: input({ training: { maxTrials: 2, promotionRule: { metric: 'auc', minImprovement: 0.5 } } }),
    });
    expect(r.status).toBe('SUCCEEDED');
    const state = r.output as Record<string, any>;
    expect(state.evaluation.promote).toBe(false);
    expect(state.evaluation.productionVersion).toBe('1');
    expect(state.registration).toBeUndefined();
    expect(await versions()).toHaveLength(1);
    const { run } = await api('GET', `runs/get?run_id=${state.run.runId}`);
    const tags = Object.fromEntries(
      run.data.tags.map((t: { key: string; value: string }) => [t.key, t.value]),
    );
    expect(tags['mlops.outcome']).toBe('not-promoted');
    expect(tags['mlops.outcome.reason']).toMatch(/less than the required 0\.5/);
    expect(run.data.metrics.map((m: { key: string }) => m.key)).toContain('production_auc');
  });

  it('takes the failure path when a task throws: run FAILED and a notification', async () => {
    const r = await runPipeline(rt, { name: 'broken', input: input({ label: 'no_such_label' }) });
    expect(r.status).toBe('FAILED');
    const state = r.output as Record<string, any>;
    expect(state.failure.message).toMatch(/no_such_label/);
    const { run } = await api('GET', `runs/get?run_id=${state.run.runId}`);
    expect(run.info.status).toBe('FAILED');
    const notes = readFileSync(join(dataDir, 'events', 'notifications.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(notes.some((n) => n.includes(':broken') && n.includes('no_such_label'))).toBe(true);
  });
});

describe('bad pipeline input fails fast, with nothing registered', () => {
  it('names an unknown feature service before any run is opened', async () => {
    const before = (await versions()).length;
    const r = await runPipeline(rt, {
      name: 'bad-service',
      input: input({ featureService: 'nope_service' }),
    });
    expect(r.status).toBe('FAILED');
    const state = r.output as Record<string, any>;
    expect(state.failure.message).toMatch(/feature service 'nope_service' not found/);
    expect(state.failure.runId).toBeNull();
    expect(await versions()).toHaveLength(before);
  });

  it('rejects an empty data window', async () => {
    const r = await runPipeline(rt, {
      name: 'empty-window',
      input: input({ window: { start: '2001-01-01T00:00:00Z', end: '2001-02-01T00:00:00Z' } }),
    });
    expect(r.status).toBe('FAILED');
    expect((r.output as Record<string, any>).failure.message).toMatch(/Empty data window/);
  });

  it('rejects malformed input naming the field', async () => {
    const r = await runPipeline(rt, { name: 'bad-input', input: { ...input(), entityRows: '/etc/passwd' } });
    expect(r.status).toBe('FAILED');
    expect((r.output as Record<string, any>).failure.message).toMatch(/entityRows/);
    expect(existsSync(join(dataDir, 's3', 'features', 'training-sets', 'bad-input'))).toBe(false);
  });
});
