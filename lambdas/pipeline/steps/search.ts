import { z } from 'zod';
import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import { LOWER_IS_BETTER } from '../../training/evaluation/promotion-rule';
import { gridTrials, randomTrials } from '../../training/search/samplers';
import { DEFAULT_SPACES } from '../../training/search/search-space';
import { scoreTrial } from '../../training/trial/execute';
import {
  INLINE_MAX_TRIALS,
  type PipelineState,
  type Planning,
  type TaskEvent,
  type TrialItem,
  type TrialOutcome,
  type TrialPlan,
  type TrialResults,
  type TrialsIn,
} from '../contract';
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
 * With `trialsIn: 'object'` the trials are written to `training-sets/<execution>/trials.json`
 * (a Distributed Map reads them there) and only their key enters the state; inline, at most
 * {@link INLINE_MAX_TRIALS} trials are planned.
 */
export async function planTrials(
  deps: PipelineDeps,
  event: TaskEvent<PipelineState> & { readonly planning?: Planning; readonly trialsIn?: TrialsIn },
): Promise<TrialPlan> {
  const { input, trainingSet } = event.state;
  if (!trainingSet) throw new Error('planTrials needs $.trainingSet');
  const { dataset } = await readTrainingSet(deps, trainingSet);
  if (event.planning === 'configured') {
    const prep = prepareFromInput(dataset, input, trainingSet, {});
    return {
      metric: input.training.metric ?? prep.rule.metric,
      count: 1,
      trials: [{ index: 0, params: { ...input.training.options } }],
    };
  }
  const t = input.training;
  if (event.trialsIn !== 'object' && t.maxTrials > INLINE_MAX_TRIALS) {
    throw new InvalidParameterError(
      `training.maxTrials is ${t.maxTrials}, but this pipeline runs trials in an inline Map of at most ${INLINE_MAX_TRIALS}; ` +
        'ask for fewer trials, or deploy with pipeline.maxTrials >= pipeline.distributedMapFrom for a Distributed Map',
    );
  }
  const prep = prepareFromInput(dataset, input, trainingSet);
  const space = DEFAULT_SPACES[input.training.algorithm];
  const params =
    t.strategy === 'grid' ? gridTrials(space, t.maxTrials) : randomTrials(space, t.maxTrials, t.seed);
  const metric = t.metric ?? prep.rule.metric;
  const trials = params.map((p, index) => ({ index, params: p }));
  if (event.trialsIn !== 'object') return { metric, count: trials.length, trials };
  const trialsKey = `training-sets/${event.execution.name}/trials.json`;
  await deps.store.put(deps.bucket, trialsKey, JSON.stringify(trials), { contentType: 'application/json' });
  return { metric, count: trials.length, trialsKey };
}

/** One entry of a Distributed Map's result file (the child execution's output is a JSON string). */
const ResultEntrySchema = z.looseObject({ Status: z.string(), Output: z.string().optional() });
const ManifestSchema = z.looseObject({
  DestinationBucket: z.string().optional(),
  ResultFiles: z.looseObject({
    SUCCEEDED: z.array(z.looseObject({ Key: z.string() })).default([]),
  }),
});

/**
 * The trials' outcomes, whether the Map returned them inline or a Distributed Map's
 * ResultWriter wrote them to the features bucket (a manifest naming its result files).
 *
 * @example
 * const best = bestTrial(await trialOutcomes(deps, state.trialResults), state.plan.metric);
 */
export async function trialOutcomes(
  deps: PipelineDeps,
  results: TrialResults | undefined,
): Promise<readonly TrialOutcome[]> {
  if (!results) throw new Error('no trial results in the state');
  if (Array.isArray(results)) return results as readonly TrialOutcome[];
  const { manifest } = results as { manifest: string };
  const read = async (key: string): Promise<unknown> => {
    const body = await deps.store.get(deps.bucket, key);
    if (!body) throw new NotFoundError(`No object '${key}' in the features bucket (trial results)`);
    return JSON.parse(new TextDecoder().decode(body));
  };
  const parsed = ManifestSchema.parse(await read(manifest));
  const outcomes: TrialOutcome[] = [];
  for (const file of parsed.ResultFiles.SUCCEEDED) {
    for (const entry of z.array(ResultEntrySchema).parse(await read(file.Key))) {
      if (entry.Status === 'SUCCEEDED' && entry.Output)
        outcomes.push(JSON.parse(entry.Output) as TrialOutcome);
    }
  }
  return outcomes;
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
