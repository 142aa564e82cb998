/**
 * Distances between two numeric samples. Each comes in two forms: exact, on the sorted
 * values (what SciPy computes), and from counts on a shared grid of bin edges (the
 * bounded-memory form for large windows), which also returns a bound on its error.
 */

/** Number of PSI bins: the baseline's deciles. */
export const PSI_BINS = 10;
/** Floor on a bin's share in PSI, so an empty bin gives a large but finite term. */
export const PSI_EPSILON = 1e-4;

/** numpy's default quantile (linear interpolation between order statistics, numpy's lerp). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const virtual = q * (n - 1);
  const lo = Math.floor(virtual);
  const gamma = virtual - lo;
  const a = sorted[lo]!;
  const b = sorted[Math.min(lo + 1, n - 1)]!;
  if (a === b) return a;
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** The first index whose value is ≥ v (binary search). */
function lowerBound(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * PSI cut points: each of the baseline's deciles 0.1 … 0.9 moved to the middle of the gap
 * between the two distinct baseline values around it (a decile that is itself a baseline
 * value, as at a tie, takes the gap below that value), duplicates removed, and a decile at
 * the minimum dropped. Each bin then holds the same baseline values the deciles give, but
 * no cut point sits on a value: a tie's mass (a tree model's repeated score) stays inside
 * one bin when live values differ from it by rounding (float32 serving against a float64
 * profile), and no bin is empty in the baseline (two deciles in one gap, or a first decile
 * equal to the minimum, used to leave one whose ε-floored share inflated PSI). A value v
 * falls in bin #{edges ≤ v}: (-∞, e1), [e1, e2), …, [ek, ∞), k ≤ 9.
 */
export function psiEdges(sortedBaseline: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  const n = sortedBaseline.length;
  for (let k = 1; k < PSI_BINS && n > 0; k++) {
    const i = lowerBound(sortedBaseline, quantileSorted(sortedBaseline, k / PSI_BINS));
    if (i === 0 || i === n) continue;
    const below = sortedBaseline[i - 1]!;
    const above = sortedBaseline[i]!;
    const mid = (below + above) / 2;
    // Adjacent doubles have no middle: the upper one keeps `below` in the lower bin.
    const e = mid > below ? mid : above;
    if (out.length === 0 || e > out[out.length - 1]!) out.push(e);
  }
  return Float64Array.from(out);
}

/** #{edges ≤ v}: the index of v's bin (binary search). */
export function binOf(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Σ (c − b) ln(c / b) over bins, with shares floored at PSI_EPSILON. */
export function psiFromCounts(baseline: ArrayLike<number>, current: ArrayLike<number>): number {
  let nb = 0;
  let nc = 0;
  for (let i = 0; i < baseline.length; i++) {
    nb += baseline[i]!;
    nc += current[i]!;
  }
  let psi = 0;
  for (let i = 0; i < baseline.length; i++) {
    const b = Math.max(baseline[i]! / nb, PSI_EPSILON);
    const c = Math.max(current[i]! / nc, PSI_EPSILON);
    psi += (c - b) * Math.log(c / b);
  }
  return psi;
}

/** Counts of sorted values per bin of `edges`. */
export function countSorted(sorted: ArrayLike<number>, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let bin = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    while (bin < edges.length && edges[bin]! <= v) bin++;
    counts[bin]!++;
  }
  return counts;
}

export interface ExactDistances {
  readonly ks: number;
  readonly wasserstein: number;
}

/**
 * KS statistic sup|F_a − F_b| and Wasserstein-1 ∫|F_a − F_b| from two sorted samples in one
 * merge (ties: both samples step past a value before the CDFs are compared).
 */
export function exactDistances(a: Float64Array, b: Float64Array): ExactDistances {
  const na = a.length;
  const nb = b.length;
  let i = 0;
  let j = 0;
  let ks = 0;
  let w = 0;
  let prev = Math.min(a[0]!, b[0]!);
  let diff = 0;
  while (i < na || j < nb) {
    const v = j >= nb || (i < na && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    w += Math.abs(diff) * (v - prev);
    while (i < na && a[i]! === v) i++;
    while (j < nb && b[j]! === v) j++;
    diff = i / na - j / nb;
    if (Math.abs(diff) > ks) ks = Math.abs(diff);
    prev = v;
  }
  return { ks, wasserstein: w };
}

/**
 * A sample reduced to counts on shared bin edges: bin k holds [e_{k−1}, e_k), bin 0 what
 * lies below e_0 and the last bin what lies at or above the last edge. `atEdge[k]` counts
 * the values exactly at bin k's left edge (ties sit there, since the grid's quantile edges
 * are baseline values; its PSI cut points lie between them), so only the mass strictly
 * inside a bin is of unknown position. The two outer bins also keep their sums, which make
 * the Wasserstein tails exact when only one sample reaches beyond the edges.
 */
export interface BinnedSample {
  readonly n: number;
  readonly counts: Float64Array;
  readonly atEdge: Float64Array;
  readonly lowSum: number;
  readonly highSum: number;
}

/** Bins sorted values on `edges` (used when the other sample of a pair is binned). */
export function binSorted(sorted: Float64Array, edges: Float64Array): BinnedSample {
  const counts = new Float64Array(edges.length + 1);
  const atEdge = new Float64Array(edges.length + 1);
  let lowSum = 0;
  let highSum = 0;
  let bin = 0;
  for (const v of sorted) {
    while (bin < edges.length && edges[bin]! <= v) bin++;
    counts[bin]!++;
    if (bin > 0 && edges[bin - 1] === v) atEdge[bin]!++;
    if (bin === 0) lowSum += v;
    else if (bin === edges.length) highSum += v;
  }
  return { n: sorted.length, counts, atEdge, lowSum, highSum };
}

export interface BinnedDistances extends ExactDistances {
  /** |true KS − ks| ≤ ksError. */
  readonly ksError: number;
  /** |true W1 − wasserstein| ≤ wassersteinError. */
  readonly wassersteinError: number;
}

/**
 * KS and Wasserstein-1 from two samples binned on the same edges. Both CDFs are known
 * exactly at every edge (just before and just after its ties); inside a bin sample i moves
 * by its interior share p_i, so sup|F_a − F_b| there exceeds the known values by at most
 * min(p_a, p_b), and the Wasserstein integral, which interpolates linearly inside the bin,
 * errs by at most width·(p_a + p_b). In the outer bins Wasserstein uses the partial means
 * E[(e_0 − X)+] and E[(X − e_last)+]: exact when one sample has nothing there.
 */
export function binnedDistances(edges: Float64Array, a: BinnedSample, b: BinnedSample): BinnedDistances {
  const G = edges.length;
  let fa = a.counts[0]! / a.n;
  let fb = b.counts[0]! / b.n;
  let ks = Math.abs(fa - fb);
  let ksError = Math.min(fa, fb);
  let w = 0;
  let wErr = 0;
  const la = (a.counts[0]! * edges[0]! - a.lowSum) / a.n;
  const lb = (b.counts[0]! * edges[0]! - b.lowSum) / b.n;
  w += (Math.abs(la - lb) + la + lb) / 2;
  wErr += Math.min(la, lb);
  for (let k = 1; k <= G; k++) {
    // Just after edge k−1's ties.
    fa += a.atEdge[k]! / a.n;
    fb += b.atEdge[k]! / b.n;
    const start = fa - fb;
    ks = Math.max(ks, Math.abs(start));
    const ia = (a.counts[k]! - a.atEdge[k]!) / a.n;
    const ib = (b.counts[k]! - b.atEdge[k]!) / b.n;
    fa += ia;
    fb += ib;
    ksError = Math.max(ksError, Math.min(ia, ib));
    if (k === G) break;
    const end = fa - fb;
    ks = Math.max(ks, Math.abs(end));
    const width = edges[k]! - edges[k - 1]!;
    w += width * absLinearIntegral(start, end);
    wErr += width * (ia + ib);
  }
  const ua = (a.highSum - a.counts[G]! * edges[G - 1]!) / a.n;
  const ub = (b.highSum - b.counts[G]! * edges[G - 1]!) / b.n;
  w += (Math.abs(ua - ub) + ua + ub) / 2;
  wErr += Math.min(ua, ub);
  return { ks, wasserstein: w, ksError, wassersteinError: wErr };
}

/** ∫₀¹ |s + (e − s)t| dt. */
function absLinearIntegral(s: number, e: number): number {
  if ((s >= 0 && e >= 0) || (s <= 0 && e <= 0)) return (Math.abs(s) + Math.abs(e)) / 2;
  return (s * s + e * e) / (2 * (Math.abs(s) + Math.abs(e)));
}
