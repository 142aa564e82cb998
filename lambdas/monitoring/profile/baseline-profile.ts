import { type Column, type Dataset, isNumericColumn } from '../../training/data/dataset';
import { buildGrid } from '../drift/accumulators';
import { binSorted, psiEdges } from '../drift/numeric-stats';

/**
 * The baseline profile stored with each registered version: what the features and the
 * model's predictions looked like on the test set, for monitoring to compare live traffic
 * against. Histogram edges are stored, so live values are binned the same way.
 */
export interface NumericProfile {
  readonly kind: 'numeric';
  readonly count: number;
  readonly missingRate: number;
  readonly mean: number;
  readonly std: number;
  /** Quantiles keyed by level ('0', '0.01', ... '1'). */
  readonly quantiles: Readonly<Record<string, number>>;
  /** `bins + 1` ascending edges; the first and last bins also take values beyond them. */
  readonly edges: readonly number[];
  readonly counts: readonly number[];
  /** What the drift job compares live values with; absent in profiles written before version 2. */
  readonly sketch?: NumericSketch;
}

/**
 * The baseline's values binned on a grid of at most PROFILE_GRID_BINS quantile edges, with
 * the PSI cut points among them (lambdas/monitoring/drift/accumulators.ts, `buildGrid`):
 * PSI is then exact, and KS within the largest interior share of a bin (0 up to
 * PROFILE_GRID_BINS distinct values, where every value is an edge).
 */
export interface NumericSketch {
  readonly min: number;
  readonly max: number;
  /** PSI's cut points (`psiEdges`: the deciles, each moved into the gap between baseline values around it). */
  readonly psiEdges: readonly number[];
  readonly edges: readonly number[];
  /** `edges.length + 1` counts: bin k holds values in [edges[k-1], edges[k]). */
  readonly counts: readonly number[];
  /** Values exactly at each bin's left edge. */
  readonly atEdge: readonly number[];
  /** Sums of the values below the first and from the last edge. */
  readonly lowSum: number;
  readonly highSum: number;
}

export interface CategoricalProfile {
  readonly kind: 'categorical';
  readonly count: number;
  readonly missingRate: number;
  /** Share of each category among non-missing values; rarer ones beyond the top 100 are summed in `__other__`. */
  readonly frequencies: Readonly<Record<string, number>>;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

export interface BaselineProfile {
  /** 2 adds the numeric sketches the drift job needs. */
  readonly version: 1 | 2;
  readonly rows: number;
  readonly features: Readonly<Record<string, FeatureProfile>>;
  readonly predictions: NumericProfile;
}

export const QUANTILE_LEVELS = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1] as const;
const TOP_CATEGORIES = 100;
/** Grid size of the stored sketch: about 30 KB of JSON per feature, KS within ~1/1024. */
export const PROFILE_GRID_BINS = 1024;

/** The drift sketch of sorted non-missing values. */
export function numericSketch(sorted: Float64Array): NumericSketch {
  const grid = buildGrid(sorted, PROFILE_GRID_BINS, psiEdges(sorted));
  const binned = binSorted(sorted, grid.edges);
  return {
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    psiEdges: Array.from(grid.psiEdges),
    edges: Array.from(grid.edges),
    counts: Array.from(binned.counts),
    atEdge: Array.from(binned.atEdge),
    lowSum: binned.lowSum,
    highSum: binned.highSum,
  };
}

/** Quantile by linear interpolation between order statistics (numpy's default). */
function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Profiles numeric values: NaN counts as missing; `bins` equal-width bins span the observed
 * range (probabilities use [0, 1] via `range`).
 */
export function profileNumeric(
  values: ArrayLike<number>,
  bins = 10,
  range?: [number, number],
): NumericProfile {
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) present.push(values[i]!);
  const sorted = Float64Array.from(present).sort();
  const n = sorted.length;
  const missingRate = values.length === 0 ? 0 : (values.length - n) / values.length;
  if (n === 0)
    return {
      kind: 'numeric',
      count: values.length,
      missingRate,
      mean: Number.NaN,
      std: Number.NaN,
      quantiles: {},
      edges: [],
      counts: [],
    };
  let mean = 0;
  for (const v of sorted) mean += v;
  mean /= n;
  let v2 = 0;
  for (const v of sorted) v2 += (v - mean) ** 2;
  const lo = range?.[0] ?? sorted[0]!;
  const hi = range?.[1] ?? sorted[n - 1]!;
  const width = hi > lo ? (hi - lo) / bins : 1;
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + k * width));
  const counts = new Array<number>(bins).fill(0);
  for (const v of sorted) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
    counts[b] = counts[b]! + 1;
  }
  const quantiles: Record<string, number> = {};
  for (const q of QUANTILE_LEVELS) quantiles[String(q)] = quantile(sorted, q);
  return {
    kind: 'numeric',
    count: values.length,
    missingRate,
    mean,
    std: Math.sqrt(v2 / n),
    quantiles,
    edges,
    counts,
    sketch: numericSketch(sorted),
  };
}

/** Profiles categorical values (null is missing). */
export function profileCategorical(values: readonly (string | null)[]): CategoricalProfile {
  const counts = new Map<string, number>();
  let present = 0;
  for (const v of values) {
    if (v === null) continue;
    present++;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const frequencies: Record<string, number> = {};
  let other = 0;
  sorted.forEach(([k, c], i) => {
    if (i < TOP_CATEGORIES) frequencies[k] = c / present;
    else other += c;
  });
  if (other > 0) frequencies.__other__ = other / present;
  return {
    kind: 'categorical',
    count: values.length,
    missingRate: values.length ? (values.length - present) / values.length : 0,
    frequencies,
  };
}

function profileColumn(c: Column, categorical: boolean): FeatureProfile {
  if (isNumericColumn(c)) {
    return categorical
      ? profileCategorical(Array.from(c, (v) => (Number.isNaN(v) ? null : String(v))))
      : profileNumeric(c);
  }
  return profileCategorical(c);
}

/**
 * Builds the profile of the test rows and the model's predictions on them (P(y = 1) for
 * classifiers, binned over [0, 1]; values for regression).
 *
 * @example
 * const profile = buildBaselineProfile(testSet, features, predictions, 'binary');
 */
export function buildBaselineProfile(
  ds: Dataset,
  features: readonly { name: string; type: 'numeric' | 'categorical' }[],
  predictions: ArrayLike<number>,
  task: 'binary' | 'regression',
): BaselineProfile {
  const out: Record<string, FeatureProfile> = {};
  for (const f of features) {
    const c = ds.columns.get(f.name);
    if (c) out[f.name] = profileColumn(c, f.type === 'categorical');
  }
  return {
    version: 2,
    rows: ds.rowCount,
    features: out,
    predictions: profileNumeric(
      predictions,
      task === 'binary' ? 20 : 10,
      task === 'binary' ? [0, 1] : undefined,
    ),
  };
}
