import type { ShadowPair, ShadowTask } from './pairs';

/** Bins of the report's side-by-side prediction histograms. */
export const HISTOGRAM_BINS = 20;

export interface ShadowReportOptions {
  readonly task: ShadowTask;
  /** Regression: |live - shadow| <= tolerance agrees. */
  readonly tolerance: number;
  /** Divergent when the share of rows that disagree or failed is above this. */
  readonly divergenceThreshold: number;
}

/** The comparison of a shadow version with the live answers over a set of pairs. */
export interface ShadowReport {
  readonly task: ShadowTask;
  readonly shadow_version: string;
  readonly live_versions: string[];
  /** Rows compared, rows the shadow scored, rows it failed on. */
  readonly rows: number;
  readonly scored: number;
  readonly shadow_errors: number;
  /** How agreement is judged. */
  readonly agreement_rule: string;
  /** Share of scored rows that agree (null with none scored). */
  readonly agreement_rate: number | null;
  readonly mean_abs_diff: number | null;
  readonly max_abs_diff: number | null;
  /** Equal-width bins over both sides' range; counts of scored rows per side. */
  readonly histogram: {
    readonly edges: number[];
    readonly live: number[];
    readonly shadow: number[];
  };
  readonly divergence: {
    readonly threshold: number;
    /** Share of rows that disagree or that the shadow failed on. */
    readonly rate: number | null;
    readonly divergent: boolean;
    readonly reason: string;
  };
  /** Example failures, at most five distinct messages. */
  readonly errors: string[];
}

/**
 * Compares a shadow's predictions with the live ones: agreement (the same class at 0.5 for
 * classifiers, |diff| <= tolerance otherwise), mean and max absolute difference, both
 * distributions on shared bins, and a divergence flag when the share of rows that disagree
 * or failed exceeds the threshold. Pairs are counted once per (request, row), however many
 * times their batch was delivered.
 *
 * @example
 * const report = shadowReport(pairs, { task: 'classification', tolerance: 0.01, divergenceThreshold: 0.05 });
 */
export function shadowReport(pairs: readonly ShadowPair[], options: ShadowReportOptions): ShadowReport {
  const unique = new Map<string, ShadowPair>();
  for (const p of pairs) unique.set(`${p.shadow_version}\n${p.request_id}\n${p.row}`, p);
  const all = [...unique.values()];
  const scored = all.filter((p) => p.shadow_prediction !== null);
  const classification = options.task === 'classification';
  let agree = 0;
  let sumAbs = 0;
  let maxAbs = 0;
  for (const p of scored) {
    const s = p.shadow_prediction as number;
    const diff = Math.abs(p.live_prediction - s);
    sumAbs += diff;
    maxAbs = Math.max(maxAbs, diff);
    if (classification ? p.live_prediction >= 0.5 === s >= 0.5 : diff <= options.tolerance) agree++;
  }
  const errors = all.length - scored.length;
  const rate = all.length ? (scored.length - agree + errors) / all.length : null;
  const divergent = rate !== null && rate > options.divergenceThreshold;
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  return {
    task: options.task,
    shadow_version: all[0]?.shadow_version ?? '',
    live_versions: [...new Set(all.map((p) => p.live_version))].sort((a, b) => Number(a) - Number(b)),
    rows: all.length,
    scored: scored.length,
    shadow_errors: errors,
    agreement_rule: classification ? 'same class at 0.5' : `|live - shadow| <= ${options.tolerance}`,
    agreement_rate: scored.length ? agree / scored.length : null,
    mean_abs_diff: scored.length ? sumAbs / scored.length : null,
    max_abs_diff: scored.length ? maxAbs : null,
    histogram: histograms(
      scored.map((p) => p.live_prediction),
      scored.map((p) => p.shadow_prediction as number),
    ),
    divergence: {
      threshold: options.divergenceThreshold,
      rate,
      divergent,
      reason:
        rate === null
          ? 'no pairs yet'
          : `${pct(rate)} of ${all.length} row(s) disagree or failed (${errors} failed), ${divergent ? 'above' : 'within'} the threshold ${pct(options.divergenceThreshold)}`,
    },
    errors: [...new Set(all.flatMap((p) => (p.shadow_error ? [p.shadow_error] : [])))].slice(0, 5),
  };
}

function histograms(live: readonly number[], shadow: readonly number[]) {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of [...live, ...shadow]) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo)) return { edges: [], live: [], shadow: [] };
  if (hi === lo) hi = lo + 1;
  const width = (hi - lo) / HISTOGRAM_BINS;
  const edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => lo + i * width);
  const count = (values: readonly number[]) => {
    const out = new Array<number>(HISTOGRAM_BINS).fill(0);
    for (const v of values) out[Math.min(HISTOGRAM_BINS - 1, Math.floor((v - lo) / width))]! += 1;
    return out;
  };
  return { edges, live: count(live), shadow: count(shadow) };
}
