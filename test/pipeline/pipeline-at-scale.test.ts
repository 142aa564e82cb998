import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrialItem, TrialOutcome } from '../../lambdas/pipeline/contract';
import { resolvePlatformConfig } from '../../lib/config';
import type { FunctionHost } from '../../local/function-host';
import { TRAINING_PIPELINE } from '../../local/pipeline';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { type DemoSeed, demoInput, seedDemo } from '../../local/start';
import { type ExecutionEvent, LocalStepFunctions } from '../../local/stepfunctions';

// The synthesized pipeline at the largest documented maxTrials (a Distributed Map), run by
// the local runtime. Only two functions are replaced, at the function boundary: Run Trial
// (10,000 real trainings would take hours here) and, in the failure-path test, Mark Failed.
const MAX_TRIALS = 10_000;
const STATE_LIMIT = 256 * 1024;
const BEST = 7_321;

let rt: LocalRuntime;
let dataDir: string;
let seed: DemoSeed;

/** Step Functions over the runtime's template, with some functions replaced by fakes. */
function withFakes(fakes: Record<string, (input: unknown) => Promise<unknown>>): LocalStepFunctions {
  const probe = new LocalStepFunctions(rt.plan, rt.host, rt.dataDir);
  const machine = probe.find(TRAINING_PIPELINE);
  const byFunction = new Map<string, (input: unknown) => Promise<unknown>>();
  for (const [state, fake] of Object.entries(fakes)) {
    const fn = machine.taskFunctions.get(state);
    if (!fn) throw new Error(`no task state '${state}'`);
    byFunction.set(fn, fake);
  }
  const host = {
    warm: (ids: Set<string>) => rt.host.warm(ids),
    invoke: (id: string, input: unknown, onTiming?: never) =>
      byFunction.get(id)?.(input) ?? rt.host.invoke(id, input, onTiming),
  } as unknown as FunctionHost;
  return new LocalStepFunctions(rt.plan, host, rt.dataDir);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-pipeline-scale-'));
  rt = await startLocalRuntime({
    port: 0,
    dataDir,
    inMemory: true,
    config: { pipeline: { maxTrials: MAX_TRIALS, maxConcurrency: 1000 } },
  });
  seed = await seedDemo(rt, { users: 150, seed: 11 });
}, 300_000);

afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the pipeline at the largest documented maxTrials', () => {
  it('is the largest the configuration accepts', () => {
    expect(resolvePlatformConfig({ pipeline: { maxTrials: MAX_TRIALS } }).pipeline.maxTrials).toBe(
      MAX_TRIALS,
    );
    expect(() => resolvePlatformConfig({ pipeline: { maxTrials: MAX_TRIALS + 1 } })).toThrow(/maxTrials/);
  });

  it('keeps every state input and output under 256 KB while 10,000 trials run', async () => {
    let trials = 0;
    const sfn = withFakes({
      // A trial at the function boundary: echoes its spec with a score that peaks at BEST.
      'Run Trial': async (event) => {
        const { state } = event as { state: TrialItem };
        expect(state.run.runId).toBeTruthy();
        expect(state.trainingSet.key).toMatch(/^training-sets\//);
        trials += 1;
        const auc = 0.5 + 0.4 / (1 + Math.abs(state.trial.index - BEST));
        return {
          ...state.trial,
          runId: `trial-${state.trial.index}`,
          metrics: { validation_auc: auc },
        } satisfies TrialOutcome;
      },
    });
    let largest = { size: 0, where: '' };
    const track = (ev: ExecutionEvent) => {
      const st = ev.state as { name: string; input?: unknown; output?: unknown } | undefined;
      if (!st) return;
      for (const [side, value] of [
        ['input', st.input],
        ['output', st.output],
      ] as const) {
        if (value === undefined) continue;
        const size = Buffer.byteLength(JSON.stringify(value));
        if (size > largest.size)
          largest = { size, where: `${st.name} ${side}${ev.index === undefined ? '' : ` #${ev.index}`}` };
      }
    };
    const r = await sfn.run(TRAINING_PIPELINE, {
      name: 'ten-thousand',
      input: demoInput(seed, {
        modelName: 'scale-test',
        training: { algorithm: 'logistic', strategy: 'random', maxTrials: MAX_TRIALS },
      }) as never,
      onEvent: track,
    });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('SUCCEEDED');
    expect(trials).toBe(MAX_TRIALS);
    // biome-ignore lint/suspicious/noExplicitAny: the final state is asserted field by field
    const state = r.output as Record<string, any>;
    // The plan itself is larger than the state may be: it stays in S3, and so do the results.
    const planFile = join(dataDir, 's3', 'features', state.plan.trialsKey);
    expect(statSync(planFile).size).toBeGreaterThan(STATE_LIMIT);
    expect(state.plan).toMatchObject({ count: MAX_TRIALS, metric: 'auc' });
    expect(state.plan.trials).toBeUndefined();
    expect(state.trialResults.manifest).toMatch(/^trial-results\/.+\/manifest\.json$/);
    // Train Candidate found the best trial by reading the results back through the manifest.
    expect(state.candidate.bestTrial).toBe(BEST);
    expect(largest.size).toBeGreaterThan(1000);
    expect(largest.size, largest.where).toBeLessThan(STATE_LIMIT);
    console.info(`largest state payload: ${largest.size} bytes (${largest.where})`);
  }, 1_200_000);
});

describe('the failure path', () => {
  it('still publishes the failure notice when Mark Failed itself fails', async () => {
    const sfn = withFakes({
      'Mark Failed': async () => {
        throw new Error('tracking is down');
      },
    });
    const r = await sfn.run(TRAINING_PIPELINE, {
      name: 'unmarked',
      input: demoInput(seed, { featureService: 'no_such_service' }) as never,
    });
    expect(r.status).toBe('FAILED');
    const notices = readFileSync(join(dataDir, 'events', 'notifications.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((n) => n.executionArn?.endsWith(':unmarked'));
    expect(notices).toHaveLength(1);
    const message = notices[0].message.Message;
    // The notice names the pipeline's error, not the failure path's.
    expect(message.error.Error).not.toMatch(/^States\./);
    expect(String(message.error.Cause)).toMatch(/no_such_service/);
    expect(JSON.stringify(message.markFailedError)).toMatch(/tracking is down/);
  }, 300_000);
});
