import type { PipelineState, TaskEvent } from '../contract';
import type { PipelineDeps } from '../deps';
import { EXECUTION_TAG } from './start-run';

/**
 * Registers the winning candidate (its run's `model` directory: ONNX, signature, MLmodel)
 * as a new version of the model, waits until the registry has checked that it loads in
 * ONNX Runtime, moves it to Staging, and closes the run. A retried step finds the version
 * it registered before by the execution tag instead of registering twice.
 */
export async function registerCandidate(
  deps: PipelineDeps,
  event: TaskEvent<PipelineState>,
): Promise<{ modelName: string; version: string; stage: 'Staging'; source: string }> {
  const { input, run } = event.state;
  const source = `runs:/${run.runId}/model`;
  const version = await deps.tracking.registerVersion({
    modelName: input.modelName,
    source,
    runId: run.runId,
    tags: { [EXECUTION_TAG]: event.execution.id, 'mlops.trigger': input.trigger },
    identity: [EXECUTION_TAG, event.execution.id],
  });
  await deps.tracking.transitionStage(input.modelName, version.version, 'Staging');
  const recorder = deps.tracking.recorder(run.runId, run.experimentId);
  await recorder.setTags({
    'mlops.outcome': 'registered',
    'mlops.registered_model': input.modelName,
    'mlops.registered_version': version.version,
  });
  await deps.tracking.setRunStatus(run.runId, 'FINISHED');
  return { modelName: input.modelName, version: version.version, stage: 'Staging', source };
}

/** Records why the candidate was not promoted, and closes the run as FINISHED. */
export async function recordRejection(
  deps: PipelineDeps,
  event: TaskEvent<PipelineState>,
): Promise<{ reasons: readonly string[] }> {
  const { run, evaluation } = event.state;
  const reasons = evaluation?.reasons ?? ['no verdict'];
  await deps.tracking.recorder(run.runId, run.experimentId).setTags({
    'mlops.outcome': 'not-promoted',
    'mlops.outcome.reason': reasons.join(' | ').slice(0, 5000),
  });
  await deps.tracking.setRunStatus(run.runId, 'FINISHED');
  return { reasons };
}

/**
 * The failure path's first step: marks the run FAILED with the error that stopped the
 * execution (when a run was opened at all) and shapes the notification.
 */
export async function markFailed(
  deps: PipelineDeps,
  event: TaskEvent<Partial<PipelineState>>,
): Promise<{ runId: string | null; error: string; message: string }> {
  const { run, error } = event.state;
  const errorName = error?.Error ?? 'Unknown';
  const cause = typeof error?.Cause === 'string' ? error.Cause : JSON.stringify(error?.Cause ?? '');
  const message = `Pipeline execution ${event.execution.name} failed: ${errorName}: ${extractMessage(cause)}`;
  if (run) {
    await deps.tracking.recorder(run.runId, run.experimentId).setTags({
      'mlops.outcome': 'failed',
      'mlops.failure.error': errorName,
      'mlops.failure.cause': extractMessage(cause).slice(0, 5000),
    });
    await deps.tracking.setRunStatus(run.runId, 'FAILED');
  }
  return { runId: run?.runId ?? null, error: errorName, message };
}

/** Lambda reports errors as JSON `{errorType, errorMessage}` in the cause; show the message. */
function extractMessage(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}
