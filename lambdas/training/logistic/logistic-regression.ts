import type { DesignMatrix } from '../design/design-matrix';
import { sharedFloat64, shareFloat64 } from '../parallel/shared-memory';
import { defaultThreads, SyncPool } from '../parallel/sync-pool';
import { LOGISTIC_BLOCK_ROWS, type LogisticState, logisticKernels } from './kernels';
import { lbfgs } from './lbfgs';

/** Hyperparameters of the logistic trainer; defaults match scikit-learn's LogisticRegression. */
export interface LogisticParams {
  /** Inverse L2 strength, as scikit-learn's C: objective = ||w||²/2 + C·Σ log-loss. */
  readonly C: number;
  readonly maxIterations: number;
  readonly tolerance: number;
  /**
   * Threads to train on; the model is the same for any count. Default: `defaultThreads()` for
   * tables of 4 million cells or more, else 1: one pass over a smaller table takes a few
   * milliseconds, and each pass waits for every thread.
   */
  readonly threads?: number;
}

export const DEFAULT_LOGISTIC_PARAMS: LogisticParams = { C: 1, maxIterations: 200, tolerance: 1e-8 };

/** A fitted model, with weights on the original (unstandardized) scale of the expanded columns. */
export interface LogisticModel {
  readonly kind: 'logistic';
  readonly names: readonly string[];
  readonly weights: Float64Array;
  readonly intercept: number;
  /** Weights on the standardized scale: comparable across features, used as importances. */
  readonly standardizedWeights: Float64Array;
  readonly iterations: number;
}

/**
 * Fits L2-regularized logistic regression on standardized columns with L-BFGS. The
 * intercept is not penalized. Standardization is folded back into the weights so the
 * model (and its ONNX export) takes raw values.
 *
 * @example
 * const model = trainLogistic(X, y, DEFAULT_LOGISTIC_PARAMS, (i, loss) => log(i, loss));
 */
export function trainLogistic(
  X: DesignMatrix,
  y: Float64Array,
  params: LogisticParams,
  onIteration?: (iteration: number, objective: number) => void,
): LogisticModel {
  const n = X.rows;
  const d = X.columns.length;
  const threads = params.threads ?? (n * d >= 4_000_000 ? defaultThreads() : 1);
  const pool = new SyncPool(logisticKernels, threads);
  try {
    return fitOnPool(pool, X, y, params, onIteration);
  } finally {
    pool.close();
  }
}

function fitOnPool(
  pool: SyncPool,
  X: DesignMatrix,
  y: Float64Array,
  params: LogisticParams,
  onIteration: ((iteration: number, objective: number) => void) | undefined,
): LogisticModel {
  const n = X.rows;
  const d = X.columns.length;
  // Workers see only shared memory: a table in ordinary memory is copied there for them (on
  // 1M × 20, the copy cost as much as the fit on two threads). A trial's design matrix is
  // already shared, and one thread reads the caller's arrays as they are.
  const shared = pool.threads > 1;
  const nBlocks = Math.ceil(n / LOGISTIC_BLOCK_ROWS);
  const s: LogisticState = {
    n,
    d,
    cols: X.columns.map((c) => (shared ? shareFloat64(c) : c)),
    y: shared ? shareFloat64(y) : y,
    mean: sharedFloat64(d),
    scale: sharedFloat64(d),
    partial: sharedFloat64(nBlocks * (d + 2)),
  };
  pool.share({ ...s });
  pool.run('standardize', {});
  const { mean, scale, partial } = s;
  // Divide scikit-learn's objective by C·n for conditioning: same minimizer.
  const lambda = 1 / (params.C * n);
  const objective = (w: Float64Array, grad: Float64Array): number => {
    pool.run('objective', { w: Array.from(w) });
    // Block sums in block order: the same value whatever the thread count.
    grad.fill(0);
    let loss = 0;
    for (let blk = 0; blk < nBlocks; blk++) {
      const o = blk * (d + 2);
      for (let j = 0; j <= d; j++) grad[j] = grad[j]! + partial[o + j]!;
      loss += partial[o + d + 1]!;
    }
    let reg = 0;
    for (let j = 0; j < d; j++) {
      const wj = w[j]!;
      grad[j] = grad[j]! / scale[j]! / n + lambda * wj;
      reg += wj * wj;
    }
    grad[d] = grad[d]! / n;
    return loss / n + 0.5 * lambda * reg;
  };
  const result = lbfgs(objective, new Float64Array(d + 1), {
    maxIterations: params.maxIterations,
    gradientTolerance: params.tolerance,
    onIteration,
  });
  const standardizedWeights = result.x.slice(0, d);
  const weights = new Float64Array(d);
  let intercept = result.x[d]!;
  for (let j = 0; j < d; j++) {
    weights[j] = standardizedWeights[j]! / scale[j]!;
    intercept -= weights[j]! * mean[j]!;
  }
  return {
    kind: 'logistic',
    names: X.names,
    weights,
    intercept,
    standardizedWeights,
    iterations: result.iterations,
  };
}

/** P(y = 1) per row, computed in double as the exported ONNX graph does. */
export function predictLogistic(model: LogisticModel, X: DesignMatrix): Float64Array {
  const out = new Float64Array(X.rows).fill(model.intercept);
  X.columns.forEach((col, j) => {
    const w = model.weights[j]!;
    for (let i = 0; i < X.rows; i++) out[i] = out[i]! + w * col[i]!;
  });
  for (let i = 0; i < X.rows; i++) out[i] = 1 / (1 + Math.exp(-out[i]!));
  return out;
}
