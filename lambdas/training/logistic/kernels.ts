import type { Kernel } from '../parallel/sync-pool';

/** The shared arrays of the logistic kernels (all over SharedArrayBuffers). */
export interface LogisticState {
  n: number;
  d: number;
  /**
   * The raw columns, never copied into a standardized table: kernels center and scale on the
   * fly (one subtraction per value, hidden by the memory reads), which spares writing a second
   * copy of the data. Over SharedArrayBuffers when several threads read them.
   */
  cols: Float64Array[];
  y: Float64Array;
  mean: Float64Array;
  scale: Float64Array;
  /** Per block of rows: d gradient sums (on the centered, unscaled columns), the residual sum, the loss sum. */
  partial: Float64Array;
}

/** Rows per block; fixed, so the sums (added in block order) do not depend on the thread count. */
export const LOGISTIC_BLOCK_ROWS = 2048;

/**
 * The logistic kernels. Shipped to workers as source text: everything it uses is inside its body.
 */
export function logisticKernels(): Record<string, Kernel> {
  const BLOCK = 2048;
  // Per-thread scratch for one block: margins, then residuals, stay in L1.
  const resid = new Float64Array(BLOCK);
  return {
    /** Mean and scale of columns j ≡ index (mod threads), as StandardScaler (a constant column keeps scale 1). */
    standardize: (st, _a, index, threads) => {
      const s = st as unknown as LogisticState;
      const { n, d, cols } = s;
      for (let j = index; j < d; j += threads) {
        const col = cols[j]!;
        let sum = 0;
        for (let i = 0; i < n; i++) sum += col[i]!;
        const mu = sum / n;
        let v = 0;
        for (let i = 0; i < n; i++) v += (col[i]! - mu) ** 2;
        const sd = Math.sqrt(v / n);
        const sc = sd > 0 ? sd : 1;
        s.mean[j] = mu;
        s.scale[j] = sc;
      }
    },

    /**
     * Loss and gradient sums of blocks b ≡ index (mod threads) at weights `w` (d weights on the
     * standardized scale, then the intercept): the margin, residual and gradient of a block are
     * computed while its rows are in cache, so each evaluation reads the data once. Gradient
     * sums are on centered columns; the caller divides them by the scale.
     */
    objective: (st, a, index, threads) => {
      const s = st as unknown as LogisticState;
      const w = (a as unknown as { w: number[] }).w;
      const { n, d, cols, mean, scale, y, partial } = s;
      const nBlocks = Math.ceil(n / BLOCK);
      const stride = d + 2;
      const b = w[d]!;
      for (let blk = index; blk < nBlocks; blk += threads) {
        const lo = blk * BLOCK;
        const len = Math.min(n, lo + BLOCK) - lo;
        resid.fill(b, 0, len);
        for (let j = 0; j < d; j++) {
          if (w[j] === 0) continue;
          const wj = w[j]! / scale[j]!;
          const mu = mean[j]!;
          const col = cols[j]!;
          for (let i = 0; i < len; i++) resid[i] = resid[i]! + wj * (col[lo + i]! - mu);
        }
        let loss = 0;
        let gb = 0;
        for (let i = 0; i < len; i++) {
          const m = resid[i]!;
          const yi = y[lo + i]!;
          // log(1 + e^-m) for y=1, log(1 + e^m) for y=0, stably; one exp serves p too.
          const e = Math.exp(-Math.abs(m));
          const sgn = yi === 1 ? -m : m;
          loss += Math.max(sgn, 0) + Math.log1p(e);
          const p = m >= 0 ? 1 / (1 + e) : e / (1 + e);
          const r = p - yi;
          resid[i] = r;
          gb += r;
        }
        const o = blk * stride;
        for (let j = 0; j < d; j++) {
          const mu = mean[j]!;
          const col = cols[j]!;
          let gj = 0;
          for (let i = 0; i < len; i++) gj += resid[i]! * (col[lo + i]! - mu);
          partial[o + j] = gj;
        }
        partial[o + d] = gb;
        partial[o + d + 1] = loss;
      }
    },
  };
}
