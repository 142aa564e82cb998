import type { Rng } from '../random';

/** Most bins per feature; bin codes fit in a Uint8Array. */
export const MAX_BINS = 255;

/**
 * Learns split thresholds for one column: midpoints between distinct values when there are
 * few, quantiles of a sample otherwise. A row falls in bin b when t[b-1] < x <= t[b]: the
 * comparison (BRANCH_LEQ, in double) the exported TreeEnsemble makes, so the trained trees,
 * the in-memory model and ONNX agree on every row.
 */
export function fitThresholds(
  col: Float64Array,
  maxBins: number,
  rng: Rng,
  sampleSize = 200_000,
): Float64Array {
  let sample: Float64Array;
  if (col.length > sampleSize) {
    sample = new Float64Array(sampleSize);
    for (let i = 0; i < sampleSize; i++) sample[i] = col[rng.int(col.length)]!;
  } else {
    sample = Float64Array.from(col);
  }
  sample.sort();
  const distinct: number[] = [];
  for (let i = 0; i < sample.length; i++) {
    if (i === 0 || sample[i] !== sample[i - 1]) distinct.push(sample[i]!);
  }
  const cuts: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) cuts.push(midpoint(distinct[i]!, distinct[i + 1]!));
  } else {
    // Quantiles of the sample (midpoint interpolation), as scikit-learn's binning does.
    for (let k = 1; k < maxBins; k++) {
      const pos = (k / maxBins) * (sample.length - 1);
      const lo = sample[Math.floor(pos)]!;
      const hi = sample[Math.ceil(pos)]!;
      cuts.push(lo === hi ? lo : midpoint(lo, hi));
    }
  }
  const out: number[] = [];
  for (const c of cuts) if (out.length === 0 || c > out[out.length - 1]!) out.push(c);
  return Float64Array.from(out);
}

function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2;
  // Adjacent doubles: a rounded-up midpoint would merge b into a's bin.
  return m >= b ? a : m;
}

/** Bin codes of a column: the index of the first threshold t with x <= t. */
export function binColumn(col: Float64Array, thresholds: Float64Array): Uint8Array {
  const out = new Uint8Array(col.length);
  const n = thresholds.length;
  for (let i = 0; i < col.length; i++) {
    const x = col[i]!;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x <= thresholds[mid]!) hi = mid;
      else lo = mid + 1;
    }
    out[i] = lo;
  }
  return out;
}
