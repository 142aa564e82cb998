import { loadRegistryRepo } from '../../features/definitions/feature-registry-store';
import { selectFeatures } from '../../features/definitions/selection';
import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import { runContextTags } from '../../tracking/client/run-context';
import { type PipelineInput, PipelineInputSchema, type RunRef, type TaskEvent } from '../contract';
import type { PipelineDeps } from '../deps';

/** Tag naming the execution a run belongs to: how retries and reruns find it again. */
export const EXECUTION_TAG = 'mlops.execution_arn';

function describeIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(input)'}: ${i.message}`)
    .join('; ');
}

/**
 * The first step: validates the input, checks that the feature service and entity rows
 * exist (so a bad input fails before anything trains or registers), and opens the
 * execution's parent run, or finds it again when the step is retried.
 *
 * @example
 * const { input, run } = await startRun(deps, { state: rawInput, execution: { id, name } });
 */
export async function startRun(
  deps: PipelineDeps,
  event: TaskEvent<unknown>,
): Promise<{ input: PipelineInput; run: RunRef }> {
  const parsed = PipelineInputSchema.safeParse(event.state);
  if (!parsed.success)
    throw new InvalidParameterError(`Invalid pipeline input: ${describeIssues(parsed.error)}`);
  const input = parsed.data;
  if (input.window?.start && input.window.end && input.window.start >= input.window.end) {
    throw new InvalidParameterError(`Invalid pipeline input: window.start must be before window.end`);
  }
  const repo = await loadRegistryRepo(deps.store, deps.bucket);
  if (!repo) throw new NotFoundError('No feature registry: run `mlops features apply --repo <dir>` first');
  // Throws naming the service when it is unknown.
  selectFeatures(repo, { featureService: input.featureService, fullFeatureNames: false });
  if (!(await deps.store.head(deps.bucket, input.entityRows))) {
    throw new NotFoundError(`Entity rows '${input.entityRows}' not found in the features bucket`);
  }
  const tags: Record<string, string> = {
    // An empty commit skips the git lookup: the handler knows the deployed commit.
    ...runContextTags({
      gitCommit: deps.gitCommit ?? '',
      sourceType: 'JOB',
      sourceName: 'mlops-training-pipeline',
    }),
    [EXECUTION_TAG]: event.execution.id,
    'mlops.execution_name': event.execution.name,
    'mlops.trigger': input.trigger,
    'mlops.feature_service': input.featureService,
  };
  if (input.reason) tags['mlops.trigger_reason'] = input.reason;
  const run = await deps.tracking.startOrResumeRun({
    experimentName: input.experimentName ?? input.modelName,
    runName: `pipeline-${event.execution.name}`,
    tags,
    identity: [EXECUTION_TAG, event.execution.id],
  });
  deps.progress?.(`${run.resumed ? 'resumed' : 'opened'} run ${run.runId}`);
  return { input, run: { runId: run.runId, experimentId: run.experimentId } };
}
