import { describe, expect, it } from 'vitest';
import { gridTrials, randomTrials } from '../../lambdas/training/search/samplers';
import type { SearchSpace, TrialParams } from '../../lambdas/training/search/search-space';
import { runSearch } from '../../lambdas/training/search/trial-search';

const space: SearchSpace = {
  x: { low: 0.001, high: 10, log: true, int: false },
  k: { low: 1, high: 9, log: false, int: true },
  kind: { values: ['a', 'b'] },
};

/** A deterministic objective with its optimum at x = 1, k = 5, kind = 'b'. */
async function objective(p: TrialParams): Promise<Record<string, number>> {
  const x = Number(p.x);
  const loss = Math.log10(x) ** 2 + (Number(p.k) - 5) ** 2 / 16 + (p.kind === 'b' ? 0 : 0.5);
  return { rmse: loss, r2: -loss };
}

describe('hyperparameter search', () => {
  it('the same seed gives the same trials, another seed different ones (random and TPE)', async () => {
    for (const strategy of ['random', 'tpe'] as const) {
      const opts = { strategy, space, maxTrials: 12, seed: 7, metric: 'rmse', parallelism: 3 };
      const a = await runSearch(opts, objective);
      const b = await runSearch(opts, objective);
      const c = await runSearch({ ...opts, seed: 8 }, objective);
      expect(b.trials).toEqual(a.trials);
      expect(c.trials.map((t) => t.params)).not.toEqual(a.trials.map((t) => t.params));
    }
  });

  it('random draws stay inside the space (log range, integers, listed values)', () => {
    for (const t of randomTrials(space, 200, 3)) {
      expect(Number(t.x)).toBeGreaterThanOrEqual(0.001);
      expect(Number(t.x)).toBeLessThanOrEqual(10);
      expect(Number.isInteger(t.k)).toBe(true);
      expect(['a', 'b']).toContain(t.kind);
    }
  });

  it('grid search enumerates every combination', () => {
    const trials = gridTrials(space, 100, 3);
    expect(trials).toHaveLength(18);
    expect(new Set(trials.map((t) => JSON.stringify(t))).size).toBe(18);
    expect(trials.map((t) => t.k)).toContain(5);
  });

  it('picks the best trial by the named metric in its direction', async () => {
    const byRmse = await runSearch(
      { strategy: 'grid', space, maxTrials: 100, seed: 0, metric: 'rmse', parallelism: 4 },
      objective,
    );
    const byR2 = await runSearch(
      { strategy: 'grid', space, maxTrials: 100, seed: 0, metric: 'r2', parallelism: 4 },
      objective,
    );
    const min = Math.min(...byRmse.trials.map((t) => t.metrics.rmse!));
    expect(byRmse.best.metrics.rmse).toBe(min);
    expect(byR2.best.params).toEqual(byRmse.best.params);
    expect(byRmse.best.params).toMatchObject({ k: 5, kind: 'b' });
  });

  it('TPE concentrates on good regions: its best beats the best of the same number of random trials', async () => {
    const opts = { space, maxTrials: 40, metric: 'rmse', parallelism: 4 };
    let tpeWins = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      const tpe = await runSearch({ ...opts, strategy: 'tpe', seed }, objective);
      const rnd = await runSearch({ ...opts, strategy: 'random', seed }, objective);
      if (tpe.best.metrics.rmse! <= rnd.best.metrics.rmse!) tpeWins++;
    }
    expect(tpeWins).toBeGreaterThanOrEqual(4);
  });

  it('runs the trials of a batch concurrently', async () => {
    let running = 0;
    let peak = 0;
    await runSearch(
      { strategy: 'random', space, maxTrials: 8, seed: 1, metric: 'rmse', parallelism: 4 },
      async (p) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return objective(p);
      },
    );
    expect(peak).toBe(4);
  });
});
