import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { TaskEvent } from '../../lambdas/pipeline/contract';
import { MlflowPipelineTracking } from '../../lambdas/pipeline/mlflow-tracking';
import { stepTelemetry } from '../../lambdas/pipeline/step-telemetry';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import { mlflowCaller } from '../../lambdas/tracking/client/rest';

// The middleware against the running local platform's tracking API.
const apiUrl = inject('apiUrl');
let tracking: MlflowPipelineTracking;
const context = {} as Context;
type RunRef = { runId: string; experimentId: string };

async function runOf(runId: string) {
  const res = await fetch(`${apiUrl}/api/2.0/mlflow/runs/get?run_id=${runId}`);
  const { run } = (await res.json()) as {
    run: { data: { metrics?: { key: string; value: number }[]; tags?: { key: string; value: string }[] } };
  };
  return {
    metrics: Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value])),
    tags: Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value])),
  };
}

async function openRun(name: string): Promise<RunRef> {
  const execution = `${name}-${Date.now().toString(36)}`;
  const run = await tracking.startOrResumeRun({
    experimentName: `telemetry-${execution}`,
    runName: execution,
    tags: { 'mlops.execution_arn': execution },
    identity: ['mlops.execution_arn', execution],
  });
  return { runId: run.runId, experimentId: run.experimentId };
}

const event = (state: unknown): TaskEvent<unknown> => ({ state, execution: { id: 'arn:x', name: 'exec-1' } });

beforeAll(() => {
  tracking = new MlflowPipelineTracking(mlflowCaller(apiUrl));
});

describe('step telemetry middleware', () => {
  it("records a step's seconds and outcome on the run in its input, and lets a failure through unchanged", async () => {
    const run = await openRun('steps');
    const ok = middy(async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { done: true };
    }).use(stepTelemetry('validateData', () => tracking));
    const failing = middy(async (): Promise<unknown> => {
      throw new InvalidParameterError('empty data window');
    }).use(stepTelemetry('buildTrainingSet', () => tracking));

    expect(await ok(event({ run }), context)).toEqual({ done: true });
    const err = await failing(event({ run }), context).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidParameterError);
    expect((err as Error).message).toBe('empty data window');

    const { metrics, tags } = await runOf(run.runId);
    expect(metrics['step_seconds.validateData']).toBeGreaterThanOrEqual(0.025);
    expect(metrics['step_seconds.buildTrainingSet']).toBeGreaterThanOrEqual(0);
    expect(tags['mlops.step.validateData']).toBe('succeeded');
    expect(tags['mlops.step.buildTrainingSet']).toBe('failed');
  });

  it('records the first step on the run its result opened', async () => {
    const run = await openRun('first');
    const startRun = middy(async () => ({ run })).use(stepTelemetry('startRun', () => tracking));
    await startRun(event({ input: {} }), context);
    const { metrics, tags } = await runOf(run.runId);
    expect(Object.keys(metrics)).toContain('step_seconds.startRun');
    expect(tags['mlops.step.startRun']).toBe('succeeded');
  });
});
