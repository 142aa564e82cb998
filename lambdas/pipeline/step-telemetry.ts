import type middy from '@middy/core';
import { logger } from '../platform/observability';
import type { TaskEvent } from './contract';
import type { PipelineTracking } from './tracking-port';

type RunRefLike = { run?: { runId: string; experimentId: string } } | null | undefined;
type Request = middy.Request<TaskEvent<unknown>, unknown>;

const started = new WeakMap<Request, number>();

/**
 * Step telemetry as middleware: one log line per step (name, outcome, seconds, execution),
 * and on the pipeline's run the metric `step_seconds.<step>` and the tag `mlops.step.<step>`
 * (`succeeded` | `failed`). Recording never changes the step's outcome: an error still
 * reaches the state machine, whose Retry and Catch decide what follows.
 *
 * @example
 * const trainCandidate = middy(candidate.trainCandidate).use(stepTelemetry('trainCandidate', () => tracking));
 */
export function stepTelemetry(
  name: string,
  tracking: () => Pick<PipelineTracking, 'recorder'>,
): middy.MiddlewareObj<TaskEvent<unknown>, unknown> {
  const finish = async (request: Request, status: 'succeeded' | 'failed'): Promise<void> => {
    const start = started.get(request);
    // An event refused before the step began (bad shape) is not a step that ran.
    if (start === undefined) return;
    const seconds = (performance.now() - start) / 1000;
    logger.info('step', { step: name, outcome: status, seconds, execution: request.event.execution.name });
    // The first step opens the run: its reference is in its result, not its input.
    const run = (request.event.state as RunRefLike)?.run ?? (request.response as RunRefLike)?.run;
    if (!run) return;
    const rec = tracking().recorder(run.runId, run.experimentId);
    await Promise.all([
      rec.logMetric(`step_seconds.${name}`, seconds),
      rec.setTags({ [`mlops.step.${name}`]: status }),
    ]).catch((e) => logger.warn('could not record the step on the run', { error: String(e) }));
  };
  return {
    // Registered after the event check, so it runs only for a well-formed event.
    before: (request) => {
      started.set(request, performance.now());
    },
    after: (request) => finish(request, 'succeeded'),
    // Leaves request.response unset, so middy rethrows the step's error.
    onError: (request) => finish(request, 'failed'),
  };
}
