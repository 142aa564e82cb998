import { formatNumber } from '../../tracking/report/html';
import { type CategoricalSummary, type NumericSummary, OTHER_CATEGORY } from '../drift/accumulators';

/** Bars per numeric feature. */
export const DISPLAY_BINS = 30;
/** Categories shown by name; the rest are summed in OTHER_CATEGORY. */
export const TOP_CATEGORIES = 15;

/** One column's distribution, baseline against current, as shares of each side's non-missing values. */
export interface HistogramData {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  /** A numeric bin's lower edge (formatted), or a category. */
  readonly labels: string[];
  /** Numeric: DISPLAY_BINS + 1 edges; categorical: null. */
  readonly edges: number[] | null;
  readonly baseline: number[];
  readonly current: number[];
}

/** Shares of a numeric summary in equal-width bins between `edges[0]` and the last edge. */
function numericShares(s: NumericSummary, lo: number, hi: number): number[] {
  const out = new Array<number>(DISPLAY_BINS).fill(0);
  if (s.n === 0) return out;
  const width = hi > lo ? (hi - lo) / DISPLAY_BINS : 1;
  const put = (v: number, count: number) => {
    const b = Math.min(DISPLAY_BINS - 1, Math.max(0, Math.floor((v - lo) / width)));
    out[b]! += count / s.n;
  };
  if (s.sorted) for (const v of s.sorted) put(v, 1);
  else {
    // A sketched side: each grid bin's count goes to the display bin of its middle.
    const e = s.grid!.edges;
    const c = s.binned!.counts;
    for (let k = 0; k < c.length; k++) {
      if (!c[k]) continue;
      const mid = k === 0 ? s.min : k === e.length ? s.max : (e[k - 1]! + e[k]!) / 2;
      put(mid, c[k]!);
    }
  }
  return out;
}

/**
 * The histogram of one column, baseline against current: numeric ones in DISPLAY_BINS
 * equal-width bins over both sides' range (a sketched side places each grid bin at its
 * middle), categorical ones as the TOP_CATEGORIES most frequent categories of both sides with
 * the rest in OTHER_CATEGORY. What the HTML report draws and the monitoring API answers.
 *
 * @example
 * const h = histogramOf('age', baseline.features.get('age')!, current.get('age')!);
 */
export function histogramOf(
  name: string,
  baseline: NumericSummary | CategoricalSummary,
  current: NumericSummary | CategoricalSummary,
): HistogramData {
  if (baseline.kind === 'numeric') {
    const cur = current as NumericSummary;
    const lo = Math.min(
      baseline.n ? baseline.min : Number.POSITIVE_INFINITY,
      cur.n ? cur.min : Number.POSITIVE_INFINITY,
    );
    const hi = Math.max(
      baseline.n ? baseline.max : Number.NEGATIVE_INFINITY,
      cur.n ? cur.max : Number.NEGATIVE_INFINITY,
    );
    if (!Number.isFinite(lo))
      return { name, kind: 'numeric', labels: [], edges: [], baseline: [], current: [] };
    const width = hi > lo ? (hi - lo) / DISPLAY_BINS : 1;
    const edges = Array.from({ length: DISPLAY_BINS + 1 }, (_, i) =>
      i === DISPLAY_BINS ? hi : lo + i * width,
    );
    const labels = edges.slice(0, DISPLAY_BINS).map((e) => formatNumber(e));
    return {
      name,
      kind: 'numeric',
      labels,
      edges,
      baseline: numericShares(baseline, lo, hi),
      current: numericShares(cur, lo, hi),
    };
  }
  const cur = current as CategoricalSummary;
  const share = (s: CategoricalSummary, k: string) => (s.n ? (s.counts.get(k) ?? 0) / s.n : 0);
  const all = [...new Set([...baseline.counts.keys(), ...cur.counts.keys()])].sort(
    (a, b) => share(baseline, b) + share(cur, b) - share(baseline, a) - share(cur, a),
  );
  const shown = all.filter((k) => k !== OTHER_CATEGORY).slice(0, TOP_CATEGORIES);
  const b = shown.map((k) => share(baseline, k));
  const c = shown.map((k) => share(cur, k));
  // What is not shown by name (and a side's own overflow category) is summed, so each side sums to 1.
  const rest = (s: CategoricalSummary, listed: number[]) =>
    s.n ? Math.max(0, 1 - listed.reduce((x, y) => x + y, 0)) : 0;
  const restB = rest(baseline, b);
  const restC = rest(cur, c);
  if (all.length > shown.length && (restB > 1e-12 || restC > 1e-12)) {
    shown.push(OTHER_CATEGORY);
    b.push(restB);
    c.push(restC);
  }
  return { name, kind: 'categorical', labels: shown, edges: null, baseline: b, current: c };
}
