import { InvalidParameterError } from '../../platform/errors';
import { createRng, type Rng } from '../random';
import {
  fromUnit,
  type ParamRange,
  type ParamValue,
  type SearchSpace,
  type TrialParams,
  toUnit,
} from './search-space';

/**
 * Every combination of the space's values (ranges become `gridPoints` evenly spaced points),
 * in a stable order, truncated to `maxTrials`.
 */
export function gridTrials(space: SearchSpace, maxTrials: number, gridPoints = 3): TrialParams[] {
  let combos: TrialParams[] = [{}];
  for (const [name, r] of Object.entries(space)) {
    const values =
      'values' in r
        ? r.values
        : [
            ...new Set(
              Array.from({ length: gridPoints }, (_, k) =>
                fromUnit(r, gridPoints === 1 ? 0.5 : k / (gridPoints - 1)),
              ),
            ),
          ];
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return combos.slice(0, maxTrials);
}

function sampleOne(r: ParamRange, rng: Rng): TrialParams[string] {
  return 'values' in r ? r.values[rng.int(r.values.length)]! : fromUnit(r, rng.next());
}

/** `count` independent uniform draws from the space; the same seed gives the same trials. */
export function randomTrials(space: SearchSpace, count: number, seed: number): TrialParams[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => {
    const t: TrialParams = {};
    for (const [name, r] of Object.entries(space)) t[name] = sampleOne(r, rng);
    return t;
  });
}

export interface ScoredTrial {
  readonly params: TrialParams;
  /** The search metric, oriented so that larger is better. */
  readonly score: number;
}

function parzenLogDensity(u: number, centers: readonly number[], bandwidth: number): number {
  // Mixture of Gaussians on [0, 1] plus a uniform prior component, as in TPE.
  let s = 1;
  for (const c of centers)
    s += Math.exp(-0.5 * ((u - c) / bandwidth) ** 2) / (bandwidth * Math.sqrt(2 * Math.PI));
  return Math.log(s / (centers.length + 1));
}

/**
 * Tree-structured Parzen Estimator: splits finished trials into the best `gamma` share and
 * the rest, draws candidates near good trials and proposes the one that maximizes l(x)/g(x)
 * (per-parameter Parzen densities). Returns `count` proposals; they are independent of each other, so a
 * batch can run in parallel before the next proposal. Random until `startup` trials exist.
 */
export function tpeTrials(
  space: SearchSpace,
  history: readonly ScoredTrial[],
  count: number,
  seed: number,
  options: { gamma?: number; candidates?: number; startup?: number } = {},
): TrialParams[] {
  const finite = history.filter((h) => Number.isFinite(h.score));
  const startup = options.startup ?? 5;
  const rng = createRng(seed + 7919 * history.length);
  if (finite.length < startup) return randomTrials(space, count, seed + 7919 * history.length);
  const sorted = [...finite].sort((a, b) => b.score - a.score);
  const nGood = Math.max(1, Math.ceil((options.gamma ?? 0.25) * sorted.length));
  const good = sorted.slice(0, nGood);
  const bad = sorted.slice(nGood);
  const nCand = options.candidates ?? 24;
  // Scott-like bandwidth on the unit interval: wide while few trials are good.
  const bw = Math.max(0.05, 0.5 * good.length ** -0.2);
  const params = Object.entries(space);
  const drawFromGood = (name: string, r: ParamRange): number | ParamValue => {
    if ('values' in r) {
      // Smoothed frequencies among good trials (each value keeps some prior mass).
      if (rng.next() < r.values.length / (good.length + r.values.length))
        return r.values[rng.int(r.values.length)]!;
      return good[rng.int(good.length)]!.params[name]!;
    }
    const center = toUnit(r, Number(good[rng.int(good.length)]!.params[name]));
    return Math.min(1, Math.max(0, center + bw * rng.normal()));
  };
  const logRatio = (name: string, r: ParamRange, v: number | ParamValue): number => {
    if ('values' in r) {
      const l = (good.filter((g) => g.params[name] === v).length + 1) / (good.length + r.values.length);
      const g = (bad.filter((b) => b.params[name] === v).length + 1) / (bad.length + r.values.length);
      return Math.log(l / g);
    }
    const gu = good.map((t) => toUnit(r, Number(t.params[name])));
    const bu = bad.map((t) => toUnit(r, Number(t.params[name])));
    return parzenLogDensity(v as number, gu, bw) - parzenLogDensity(v as number, bu, bw);
  };
  return Array.from({ length: count }, (_, k) => {
    // Every fourth proposal of a batch explores at random, so a batch does not collapse on one point.
    if (k % 4 === 3) return randomTrials(space, 1, seed + 104_729 * (history.length + k))[0]!;
    let best: (number | ParamValue)[] = [];
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < nCand; c++) {
      const cand = params.map(([name, r]) => drawFromGood(name, r));
      const score = params.reduce((s, [name, r], j) => s + logRatio(name, r, cand[j]!), 0);
      if (score > bestScore) {
        bestScore = score;
        best = cand;
      }
    }
    const t: TrialParams = {};
    params.forEach(([name, r], j) => {
      t[name] = 'values' in r ? (best[j] as ParamValue) : fromUnit(r, best[j] as number);
    });
    return t;
  });
}

/** Rejects a space with parameters the algorithm does not take, naming them. */
export function assertKnownParams(space: SearchSpace, known: readonly string[], algorithm: string): void {
  const unknown = Object.keys(space).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new InvalidParameterError(
      `Search space names ${unknown.map((u) => `'${u}'`).join(', ')}, not parameters of ${algorithm} (known: ${known.join(', ')})`,
    );
  }
}
