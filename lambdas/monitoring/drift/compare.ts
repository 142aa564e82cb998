import { InvalidParameterError } from '../../platform/errors';
import {
  buildGrid,
  type CategoricalSummary,
  type NumericGrid,
  type NumericSummary,
  OTHER_CATEGORY,
} from './accumulators';
import {
  CATEGORICAL_METHODS,
  DEFAULT_THRESHOLDS,
  type DriftConfig,
  type FeatureDriftConfig,
  NUMERIC_METHODS,
  P_VALUE_METHODS,
  type ResolvedMethod,
} from './config';
import { ksTwoSamplePValue } from './kolmogorov';
import {
  type BinnedSample,
  binnedDistances,
  binOf,
  binSorted,
  countSorted,
  exactDistances,
  psiEdges,
  psiFromCounts,
} from './numeric-stats';
import { chiSquareSf } from './special';

/** Evidently's floor on the baseline std when normalizing Wasserstein (a constant baseline). */
export const WASSERSTEIN_MIN_STD = 0.001;
const UNSEEN_LISTED = 20;

export type Verdict = 'drift' | 'no_drift' | 'insufficient_data';

export interface SideStats {
  /** Non-missing values. */
  readonly count: number;
  readonly missingRate: number;
  readonly mean?: number;
  readonly std?: number;
}

export interface NumericScores {
  readonly ks: { statistic: number; pValue: number; method: 'exact' | 'asymp'; error: number };
  readonly psi: number;
  readonly wasserstein: number;
  readonly wassersteinNormalized: number;
  /** Bound on |true − reported| for the normalized Wasserstein (0 when exact). */
  readonly wassersteinNormalizedError: number;
  /** True when both sides were kept exactly (no grid sketch). */
  readonly exact: boolean;
}

export interface CategoricalScores {
  readonly chiSquare: { statistic: number; pValue: number; dof: number };
  readonly jensenShannon: number;
  readonly psi: number;
  readonly unseen: { count: number; share: number; categories: string[] };
}

export interface FeatureDrift {
  readonly name: string;
  readonly type: 'numeric' | 'categorical';
  readonly baseline: SideStats;
  readonly current: SideStats;
  readonly missingRateChange: number;
  /** Null when either side has no values at all. */
  readonly scores: NumericScores | CategoricalScores | null;
  readonly test: { method: ResolvedMethod; threshold: number; score: number | null; drifted: boolean | null };
  readonly verdict: Verdict;
}

export interface DriftSummary {
  readonly features: number;
  /** Features with a verdict (enough samples). */
  readonly judged: number;
  readonly drifted: number;
  /** drifted / judged, null when nothing could be judged. */
  readonly driftedShare: number | null;
  readonly driftShareThreshold: number;
  readonly verdict: Verdict;
}

export interface DriftReport {
  readonly baselineRows: number;
  readonly currentRows: number;
  readonly features: FeatureDrift[];
  readonly prediction: FeatureDrift | null;
  readonly summary: DriftSummary;
}

const rate = (missing: number, total: number) => (total ? missing / total : 0);

function side(s: NumericSummary | CategoricalSummary): SideStats {
  const base = { count: s.n, missingRate: rate(s.missing, s.total) };
  return s.kind === 'numeric' && s.n > 0 ? { ...base, mean: s.mean, std: s.std } : base;
}

/** The baseline's grid: its own once sketched, else quantile bins of its sorted values. */
export function gridOf(baseline: NumericSummary, gridBins: number): NumericGrid {
  if (baseline.grid) return baseline.grid;
  return buildGrid(baseline.sorted!, gridBins);
}

/**
 * PSI, KS (statistic and p-value) and Wasserstein between two numeric summaries: exact when
 * both kept their values, else on the baseline's grid with error bounds.
 */
export function numericScores(
  baseline: NumericSummary,
  current: NumericSummary,
  gridBins: number,
): NumericScores {
  const norm = Math.max(baseline.std, WASSERSTEIN_MIN_STD);
  if (baseline.sorted && current.sorted) {
    const { ks, wasserstein } = exactDistances(baseline.sorted, current.sorted);
    const edges = psiEdges(baseline.sorted);
    const psi = psiFromCounts(countSorted(baseline.sorted, edges), countSorted(current.sorted, edges));
    const p = ksTwoSamplePValue(ks, baseline.n, current.n);
    return {
      ks: { statistic: p.statistic, pValue: p.pValue, method: p.method, error: 0 },
      psi,
      wasserstein,
      wassersteinNormalized: wasserstein / norm,
      wassersteinNormalizedError: 0,
      exact: true,
    };
  }
  const grid = current.grid ?? gridOf(baseline, gridBins);
  const a: BinnedSample = baseline.binned ?? binSorted(baseline.sorted!, grid.edges);
  const b: BinnedSample = current.binned ?? binSorted(current.sorted!, grid.edges);
  const d = binnedDistances(grid.edges, a, b);
  // Every PSI edge is a grid edge, so each grid bin lies inside one PSI bin.
  const pa = new Float64Array(grid.psiEdges.length + 1);
  const pb = new Float64Array(grid.psiEdges.length + 1);
  for (let k = 0; k < a.counts.length; k++) {
    const bin = k === 0 ? 0 : binOf(grid.psiEdges, grid.edges[k - 1]!);
    pa[bin]! += a.counts[k]!;
    pb[bin]! += b.counts[k]!;
  }
  const p = ksTwoSamplePValue(d.ks, baseline.n, current.n);
  return {
    ks: { statistic: d.ks, pValue: p.pValue, method: p.method, error: d.ksError },
    psi: psiFromCounts(pa, pb),
    wasserstein: d.wasserstein,
    wassersteinNormalized: d.wasserstein / norm,
    wassersteinNormalizedError: d.wassersteinError / norm,
    exact: false,
  };
}

/**
 * Chi-square test of homogeneity (2 × K table, no continuity correction, as SciPy's
 * `chi2_contingency(correction=False)`), Jensen–Shannon distance (base 2, as SciPy's
 * `jensenshannon`), PSI on the categories, and the categories the baseline never had.
 */
export function categoricalScores(
  baseline: CategoricalSummary,
  current: CategoricalSummary,
): CategoricalScores {
  const keys = [...new Set([...baseline.counts.keys(), ...current.counts.keys()])];
  const b = keys.map((k) => baseline.counts.get(k) ?? 0);
  const c = keys.map((k) => current.counts.get(k) ?? 0);
  const nb = baseline.n;
  const nc = current.n;
  const total = nb + nc;
  let chi = 0;
  let js = 0;
  for (let i = 0; i < keys.length; i++) {
    const col = b[i]! + c[i]!;
    const eb = (nb * col) / total;
    const ec = (nc * col) / total;
    chi += (b[i]! - eb) ** 2 / eb + (c[i]! - ec) ** 2 / ec;
    const p = b[i]! / nb;
    const q = c[i]! / nc;
    const m = (p + q) / 2;
    if (p > 0) js += p * Math.log(p / m);
    if (q > 0) js += q * Math.log(q / m);
  }
  const dof = keys.length - 1;
  const unseen = keys.filter((k) => !baseline.counts.has(k) && k !== OTHER_CATEGORY);
  const unseenCount = unseen.reduce((s, k) => s + current.counts.get(k)!, 0);
  return {
    chiSquare: { statistic: chi, pValue: dof > 0 ? chiSquareSf(chi, dof) : 1, dof },
    jensenShannon: Math.sqrt(Math.max(0, js / 2 / Math.LN2)),
    psi: psiFromCounts(b, c),
    unseen: {
      count: unseenCount,
      share: nc ? unseenCount / nc : 0,
      categories: unseen
        .sort((x, y) => current.counts.get(y)! - current.counts.get(x)!)
        .slice(0, UNSEEN_LISTED),
    },
  };
}

/** The method and threshold that judge a feature. */
export function resolveTest(
  name: string,
  type: 'numeric' | 'categorical',
  baselineCount: number,
  config: DriftConfig,
  own: FeatureDriftConfig | undefined,
): { method: ResolvedMethod; threshold: number } {
  const small = baselineCount <= config.smallSampleLimit;
  const method: ResolvedMethod =
    own?.method && own.method !== 'auto'
      ? own.method
      : type === 'numeric'
        ? small
          ? 'ks'
          : 'wasserstein'
        : small
          ? 'chisquare'
          : 'jensenshannon';
  const allowed = type === 'numeric' ? NUMERIC_METHODS : CATEGORICAL_METHODS;
  if (!allowed.has(method)) {
    throw new InvalidParameterError(
      `Feature '${name}' is ${type}; method '${method}' applies only to ${type === 'numeric' ? 'categorical' : 'numeric'} features (use one of ${[...allowed].join(', ')})`,
    );
  }
  return { method, threshold: own?.threshold ?? DEFAULT_THRESHOLDS[method] };
}

function scoreOf(method: ResolvedMethod, s: NumericScores | CategoricalScores): number {
  if ('ks' in s) {
    if (method === 'ks') return s.ks.pValue;
    if (method === 'wasserstein') return s.wassersteinNormalized;
    return s.psi;
  }
  if (method === 'chisquare') return s.chiSquare.pValue;
  if (method === 'jensenshannon') return s.jensenShannon;
  return s.psi;
}

/**
 * Compares one column's baseline and current summaries and gives its verdict; fewer than
 * `minSamples` non-missing values on either side gives `insufficient_data`.
 */
export function compareFeature(
  name: string,
  baseline: NumericSummary | CategoricalSummary,
  current: NumericSummary | CategoricalSummary,
  config: DriftConfig,
): FeatureDrift {
  const type = baseline.kind;
  const test = resolveTest(name, type, baseline.n, config, config.features[name]);
  let scores: NumericScores | CategoricalScores | null = null;
  if (baseline.n > 0 && current.n > 0) {
    scores =
      baseline.kind === 'numeric'
        ? numericScores(baseline, current as NumericSummary, config.gridBins)
        : categoricalScores(baseline, current as CategoricalSummary);
  }
  const enough = baseline.n >= config.minSamples && current.n >= config.minSamples;
  const score = scores ? scoreOf(test.method, scores) : null;
  const drifted =
    enough && score !== null
      ? P_VALUE_METHODS.has(test.method)
        ? score < test.threshold
        : score > test.threshold
      : null;
  return {
    name,
    type,
    baseline: side(baseline),
    current: side(current),
    missingRateChange: rate(current.missing, current.total) - rate(baseline.missing, baseline.total),
    scores,
    test: { ...test, score, drifted },
    verdict: drifted === null ? 'insufficient_data' : drifted ? 'drift' : 'no_drift',
  };
}

/** The share of drifted features among those judged, and the dataset's verdict. */
export function summarize(features: readonly FeatureDrift[], driftShare: number): DriftSummary {
  const judged = features.filter((f) => f.test.drifted !== null).length;
  const drifted = features.filter((f) => f.test.drifted === true).length;
  const share = judged ? drifted / judged : null;
  return {
    features: features.length,
    judged,
    drifted,
    driftedShare: share,
    driftShareThreshold: driftShare,
    verdict: share === null ? 'insufficient_data' : share >= driftShare ? 'drift' : 'no_drift',
  };
}
