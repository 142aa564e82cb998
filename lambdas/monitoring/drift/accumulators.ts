import { type BinnedSample, binOf, psiEdges } from './numeric-stats';

/**
 * Streaming summaries of one column, in bounded memory. A numeric column keeps its values
 * exactly up to `exactLimit`; past that it folds them into counts on a fixed grid of
 * `gridBins` quantile bins (the baseline's), so memory no longer grows with the window. A
 * categorical column keeps a count per category, up to `maxCategories` distinct ones.
 */

export interface SketchOptions {
  /** Values kept exactly per column and side before switching to the grid. @default 1_000_000 */
  readonly exactLimit: number;
  /** Quantile bins of the grid used past exactLimit. @default 4096 */
  readonly gridBins: number;
  /** Distinct categories counted per column; later new ones count as `__other__`. @default 10_000 */
  readonly maxCategories: number;
}

export const DEFAULT_SKETCH: SketchOptions = { exactLimit: 1_000_000, gridBins: 4096, maxCategories: 10_000 };
export const OTHER_CATEGORY = '__other__';

/** Bin edges shared by both sides of a comparison; the PSI cut points are among them. */
export interface NumericGrid {
  readonly edges: Float64Array;
  readonly psiEdges: Float64Array;
}

/** `bins` quantile edges of sorted values, merged with the PSI cut points, duplicates removed. */
export function buildGrid(
  sorted: Float64Array,
  bins: number,
  psi: Float64Array = psiEdges(sorted),
): NumericGrid {
  const n = sorted.length;
  if (n === 0) return { edges: Float64Array.of(0), psiEdges: psi };
  const raw = new Float64Array(bins + 1 + psi.length);
  for (let k = 0; k <= bins; k++) raw[k] = sorted[Math.round((k * (n - 1)) / bins)]!;
  raw.set(psi, bins + 1);
  raw.sort();
  let u = 0;
  for (let i = 0; i < raw.length; i++) if (i === 0 || raw[i]! > raw[u - 1]!) raw[u++] = raw[i]!;
  return { edges: raw.slice(0, u), psiEdges: psi };
}

export interface NumericSummary {
  readonly kind: 'numeric';
  /** Rows seen, missing included. */
  readonly total: number;
  readonly missing: number;
  /** Non-missing values. */
  readonly n: number;
  readonly mean: number;
  /** Population standard deviation (ddof 0, as numpy's default). */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** All values, ascending, while the column stayed within exactLimit. */
  readonly sorted?: Float64Array;
  /** Otherwise the grid and the counts on it. */
  readonly grid?: NumericGrid;
  readonly binned?: BinnedSample;
}

/**
 * Accumulates a numeric column; NaN and ±Infinity count as missing.
 *
 * @example
 * const acc = new NumericAccumulator(DEFAULT_SKETCH);
 * acc.addMany(Float64Array.of(1, 2, Number.NaN));
 * acc.finish(); // { n: 2, missing: 1, sorted: [1, 2], ... }
 */
export class NumericAccumulator {
  private buf: Float64Array | undefined;
  private len = 0;
  private missing = 0;
  private mean = 0;
  private m2 = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private grid?: NumericGrid;
  private counts?: Float64Array;
  private atEdge?: Float64Array;
  private lowSum = 0;
  private highSum = 0;

  /** `gridFrom` gives the baseline's grid to a current window that outgrows exactLimit. */
  constructor(
    private readonly options: SketchOptions,
    private readonly gridFrom?: () => NumericGrid,
  ) {
    this.buf = new Float64Array(Math.min(1024, options.exactLimit + 1));
  }

  addMany(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.add(values[i]!);
  }

  add(v: number): void {
    if (!Number.isFinite(v)) {
      this.missing++;
      return;
    }
    const n = this.len + 1;
    this.len = n;
    const delta = v - this.mean;
    this.mean += delta / n;
    this.m2 += delta * (v - this.mean);
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.counts) {
      this.bin(v);
      return;
    }
    let buf = this.buf!;
    if (n > buf.length) {
      buf = new Float64Array(Math.min(buf.length * 2, this.options.exactLimit + 1));
      buf.set(this.buf!);
      this.buf = buf;
    }
    buf[n - 1] = v;
    if (n > this.options.exactLimit) this.spill();
  }

  private bin(v: number): void {
    const edges = this.grid!.edges;
    const b = binOf(edges, v);
    this.counts![b]!++;
    if (b > 0 && edges[b - 1] === v) this.atEdge![b]!++;
    if (b === 0) this.lowSum += v;
    else if (b === edges.length) this.highSum += v;
  }

  /** Switches to the grid: the baseline's when comparing against one, else built from the values so far. */
  private spill(): void {
    const sorted = this.buf!.subarray(0, this.len).sort();
    this.grid = this.gridFrom ? this.gridFrom() : buildGrid(sorted, this.options.gridBins);
    this.counts = new Float64Array(this.grid.edges.length + 1);
    this.atEdge = new Float64Array(this.grid.edges.length + 1);
    for (const v of sorted) this.bin(v);
    this.buf = undefined;
  }

  finish(): NumericSummary {
    const n = this.len;
    const base = {
      kind: 'numeric' as const,
      total: n + this.missing,
      missing: this.missing,
      n,
      mean: n ? this.mean : Number.NaN,
      std: n ? Math.sqrt(this.m2 / n) : Number.NaN,
      min: this.min,
      max: this.max,
    };
    if (this.counts) {
      return {
        ...base,
        grid: this.grid,
        binned: { n, counts: this.counts, atEdge: this.atEdge!, lowSum: this.lowSum, highSum: this.highSum },
      };
    }
    return { ...base, sorted: this.buf!.slice(0, n).sort() };
  }
}

export interface CategoricalSummary {
  readonly kind: 'categorical';
  readonly total: number;
  readonly missing: number;
  readonly n: number;
  readonly counts: ReadonlyMap<string, number>;
}

/**
 * Accumulates a categorical column; null is missing.
 *
 * @example
 * const acc = new CategoricalAccumulator(DEFAULT_SKETCH);
 * acc.add('red'); acc.add(null);
 */
export class CategoricalAccumulator {
  private readonly counts = new Map<string, number>();
  private missing = 0;
  private n = 0;
  constructor(private readonly options: SketchOptions) {}

  add(v: string | null): void {
    if (v === null) {
      this.missing++;
      return;
    }
    this.n++;
    const c = this.counts.get(v);
    if (c !== undefined) this.counts.set(v, c + 1);
    else if (this.counts.size < this.options.maxCategories) this.counts.set(v, 1);
    else this.counts.set(OTHER_CATEGORY, (this.counts.get(OTHER_CATEGORY) ?? 0) + 1);
  }

  finish(): CategoricalSummary {
    return {
      kind: 'categorical',
      total: this.n + this.missing,
      missing: this.missing,
      n: this.n,
      counts: this.counts,
    };
  }
}
