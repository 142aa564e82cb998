import { resolvePlatformConfig } from '../../lib/config';
import { failedStep, progressLine, runPipeline, TRAINING_PIPELINE } from '../pipeline';
import type { ExecutionRecord } from '../stepfunctions';
import { type StoryContext, StoryStepError } from './context';

/** Key of the labelled entity rows: the configuration's, which the schedule and drift rules train on. */
export const ENTITY_ROWS_KEY = resolvePlatformConfig({}).pipeline.entityRows;

// biome-ignore lint/suspicious/noExplicitAny: the pipeline's output state is read field by field
export type PipelineOutput = Record<string, any>;

/** Prints what a finished pipeline execution did: training set, search, metrics, the registration or why not. */
export function describeRun(ctx: StoryContext, r: ExecutionRecord, step: string): PipelineOutput {
  const state = (r.output ?? {}) as PipelineOutput;
  if (r.status !== 'SUCCEEDED') {
    const failure = state.failure as { message?: string } | undefined;
    throw new StoryStepError(
      step,
      `pipeline execution ${r.name} ${r.status} at '${failedStep(r) ?? 'unknown'}': ${failure?.message ?? String(r.error?.Cause ?? '')}`,
    );
  }
  const m = (state.candidate?.testMetrics ?? {}) as Record<string, number>;
  if (state.run?.runId) ctx.facts.runIds.push(String(state.run.runId));
  ctx.say(
    `training set ${state.trainingSet?.rows} rows; ${state.plan?.count} trial(s) of ${state.input?.training?.algorithm}; test auc=${m.auc?.toFixed(4)} log_loss=${m.log_loss?.toFixed(4)}; run ${state.run?.runId}`,
  );
  const reasons = (state.evaluation?.reasons ?? []) as string[];
  if (state.evaluation?.productionVersion)
    ctx.say(`evaluated against Production v${state.evaluation.productionVersion}: ${reasons.join('; ')}`);
  if (state.registration)
    ctx.say(`registered ${state.registration.modelName} v${state.registration.version} → Staging`);
  else ctx.say(`not registered: ${reasons.join('; ')}`);
  return state;
}

/**
 * Runs the synthesized training pipeline (the state machine `cdk deploy` ships) with the
 * story's input, printing each task as it starts, and returns its output state.
 */
export async function trainThroughPipeline(
  ctx: StoryContext,
  step: string,
  name: string,
  training: { algorithm: 'gbdt' | 'logistic'; maxTrials: number },
  reason: string,
): Promise<PipelineOutput> {
  const p = resolvePlatformConfig({}).pipeline;
  const started = Date.now();
  const r = await runPipeline(ctx.rt, {
    name,
    input: {
      trigger: 'manual',
      reason,
      featureService: p.featureService,
      entityRows: ENTITY_ROWS_KEY,
      label: p.label,
      modelName: ctx.facts.model,
      training: { algorithm: training.algorithm, strategy: 'random', maxTrials: training.maxTrials },
    },
    progress: (line) => {
      if (/▶|✗|↻/.test(line)) ctx.say(line.trim());
    },
  });
  if (r.reused) ctx.say(`execution '${name}' ran before in this data dir: its result is reused`);
  ctx.say(`pipeline ${r.status} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return describeRun(ctx, r, step);
}

/** The training pipeline's state machine id, for executions started by rules. */
export function pipelineMachine(ctx: StoryContext): string {
  return ctx.rt.stepFunctions.find(TRAINING_PIPELINE).logicalId;
}

export { progressLine };
