import { LOWER_IS_BETTER } from '../../training/evaluation/promotion-rule';
import { scoreTrial } from '../../training/pipeline/execute';
import { gridTrials, randomTrials } from '../../training/search/samplers';
import { DEFAULT_SPACES } from '../../training/search/search-space';
import type { PipelineState, Planning, TaskEvent, TrialItem, TrialOutcome, TrialSpec } from '../contract';
import type { PipelineDeps } from '../deps';
import { prepareFromInput, readTrainingSet } from './training-request';

/** Tag a trial's child run carries: how a retried trial finds its finished run. */
export const TRIAL_TAG = 'mlops.trial';

/**
 * Plans the search: every trial's parameters up front (grid or seeded random), so trials
 * are independent and the Map runs them in parallel. Validates the training request
 * first (label present and not constant, features usable), failing before any trial runs.
 * With `planning: 'configured'` (an external trainer without tuning) the plan is one
 * trial carrying the input's options as they are: they are the container's
 * hyperparameters, not the built-in algorithm's, so they are not checked against it.
 */
export async function planTrials(
  deps: PipelineDeps,
  event: TaskEvent<PipelineState> & { readonly planning?: Planning },
): Promise<{ trials: TrialSpec[]; metric: string }> {
  const { input, trainingSet } = event.state;
  if (!trainingSet) throw new Error('planTrials needs $.trainingSet');
  const { dataset } = await readTrainingSet(deps, trainingSet);
  if (event.planning === 'configured') {
    const prep = prepareFromInput(dataset, input, trainingSet, {});
    return {
      trials: [{ index: 0, params: { ...input.training.options } }],
      metric: input.training.metric ?? prep.rule.metric,
    };
  }
  const prep = prepareFromInput(dataset, input, trainingSet);
  const space = DEFAULT_SPACES[input.training.algorithm];
  const t = input.training;
  const params =
    t.strategy === 'grid' ? gridTrials(space, t.maxTrials) : randomTrials(space, t.maxTrials, t.seed);
  const metric = t.metric ?? prep.rule.metric;
  return { trials: params.map((p, index) => ({ index, params: p })), metric };
}

/**
 * One trial (a Map iteration): fits its parameters on the training rows' fit part,
 * scores the validation hold-out, and records a child run of the pipeline's run. A retry
 * of a trial that finished returns the recorded result instead of training again.
 */
export async function runTrial(deps: PipelineDeps, event: TaskEvent<TrialItem>): Promise<TrialOutcome> {
  const { trial, input, run, trainingSet } = event.state;
  const done = await deps.tracking.findFinishedChild(
    run.experimentId,
    run.runId,
    TRIAL_TAG,
    String(trial.index),
  );
  if (done) return { ...trial, runId: done.runId, metrics: done.metrics };
  const { dataset } = await readTrainingSet(deps, trainingSet);
  const prep = prepareFromInput(dataset, input, trainingSet);
  const parent = deps.tracking.recorder(run.runId, run.experimentId);
  const child = await parent.startChildRun(`trial-${trial.index}`);
  await child.setTags({ [TRIAL_TAG]: String(trial.index) });
  await child.logParams({ ...trial.params, trial: trial.index, algorithm: input.training.algorithm });
  const metrics = scoreTrial(prep, trial.params, input.training.seed);
  const validation: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) {
    validation[`validation_${k}`] = v;
    await child.logMetric(`validation_${k}`, v);
  }
  await child.end('FINISHED');
  return { ...trial, runId: child.runId, metrics: validation };
}

/** The best finished trial by the plan's metric (its direction known per metric). */
export function bestTrial(trials: readonly TrialOutcome[], metric: string): TrialOutcome {
  const key = `validation_${metric}`;
  const sign = LOWER_IS_BETTER.has(metric) ? -1 : 1;
  let best: TrialOutcome | undefined;
  for (const t of trials) {
    const v = t.metrics[key];
    if (v === undefined || !Number.isFinite(v)) continue;
    if (!best || sign * v > sign * (best.metrics[key] as number)) best = t;
  }
  if (!best) throw new Error(`No trial produced a finite '${metric}'`);
  return best;
}
