import { LOWER_IS_BETTER } from '../evaluation/promotion-rule';
import { gridTrials, randomTrials, type ScoredTrial, tpeTrials } from './samplers';
import type { SearchSpace, TrialParams } from './search-space';

export type SearchStrategy = 'grid' | 'random' | 'tpe';

export interface SearchOptions {
  readonly strategy: SearchStrategy;
  readonly space: SearchSpace;
  readonly maxTrials: number;
  readonly seed: number;
  /** The metric that picks the best trial; its direction follows LOWER_IS_BETTER. */
  readonly metric: string;
  /** Trials run concurrently (and TPE batch size). */
  readonly parallelism: number;
}

export interface TrialResult {
  readonly index: number;
  readonly params: TrialParams;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface SearchResult {
  readonly trials: readonly TrialResult[];
  readonly best: TrialResult;
}

/**
 * Runs a hyperparameter search. Each trial is independent: `evaluate` trains and scores one
 * parameter set (the pipeline makes each a child run). Grid and random plan every trial up
 * front; TPE proposes batches of `parallelism` from the finished ones. The same seed and a
 * deterministic `evaluate` give the same trials.
 *
 * @example
 * const { best } = await runSearch({ strategy: 'random', space, maxTrials: 10, seed: 1, metric: 'auc', parallelism: 2 }, evaluate);
 */
export async function runSearch(
  options: SearchOptions,
  evaluate: (params: TrialParams, index: number) => Promise<Record<string, number>>,
): Promise<SearchResult> {
  const sign = LOWER_IS_BETTER.has(options.metric) ? -1 : 1;
  const results: TrialResult[] = [];
  const runBatch = async (batch: TrialParams[]): Promise<void> => {
    const start = results.length;
    const done = await Promise.all(
      batch.map(async (params, k) => ({
        index: start + k,
        params,
        metrics: await evaluate(params, start + k),
      })),
    );
    results.push(...done);
  };
  if (options.strategy === 'tpe') {
    while (results.length < options.maxTrials) {
      const history: ScoredTrial[] = results.map((r) => ({
        params: r.params,
        score: sign * (r.metrics[options.metric] ?? Number.NaN),
      }));
      const n = Math.min(options.parallelism, options.maxTrials - results.length);
      await runBatch(tpeTrials(options.space, history, n, options.seed));
    }
  } else {
    const planned =
      options.strategy === 'grid'
        ? gridTrials(options.space, options.maxTrials)
        : randomTrials(options.space, options.maxTrials, options.seed);
    for (let i = 0; i < planned.length; i += options.parallelism)
      await runBatch(planned.slice(i, i + options.parallelism));
  }
  let best = results[0]!;
  for (const r of results) {
    const s = sign * (r.metrics[options.metric] ?? Number.NaN);
    const b = sign * (best.metrics[options.metric] ?? Number.NaN);
    if (Number.isFinite(s) && (!Number.isFinite(b) || s > b)) best = r;
  }
  return { trials: results, best };
}
