import type { DesignMatrix } from '../features/design-matrix';
import { lbfgs } from './lbfgs';

/** Hyperparameters of the logistic trainer; defaults match scikit-learn's LogisticRegression. */
export interface LogisticParams {
  /** Inverse L2 strength, as scikit-learn's C: objective = ||w||²/2 + C·Σ log-loss. */
  readonly C: number;
  readonly maxIterations: number;
  readonly tolerance: number;
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
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  const Z = X.columns.map((col, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += col[i]!;
    const mu = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (col[i]! - mu) ** 2;
    const sd = Math.sqrt(v / n);
    mean[j] = mu;
    // As StandardScaler: a constant column keeps scale 1.
    scale[j] = sd > 0 ? sd : 1;
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) z[i] = (col[i]! - mu) / scale[j]!;
    return z;
  });
  // Divide scikit-learn's objective by C·n for conditioning: same minimizer.
  const lambda = 1 / (params.C * n);
  const margin = new Float64Array(n);
  const resid = new Float64Array(n);
  const objective = (w: Float64Array, grad: Float64Array): number => {
    const b = w[d]!;
    margin.fill(b);
    for (let j = 0; j < d; j++) {
      const wj = w[j]!;
      if (wj === 0) continue;
      const z = Z[j]!;
      for (let i = 0; i < n; i++) margin[i] = margin[i]! + wj * z[i]!;
    }
    let loss = 0;
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const m = margin[i]!;
      // log(1 + e^-m) for y=1, log(1 + e^m) for y=0, computed stably.
      const s = y[i] === 1 ? -m : m;
      loss += s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
      const p = 1 / (1 + Math.exp(-m));
      const r = p - y[i]!;
      resid[i] = r;
      gb += r;
    }
    let reg = 0;
    for (let j = 0; j < d; j++) {
      const z = Z[j]!;
      let gj = 0;
      for (let i = 0; i < n; i++) gj += resid[i]! * z[i]!;
      const wj = w[j]!;
      grad[j] = gj / n + lambda * wj;
      reg += wj * wj;
    }
    grad[d] = gb / n;
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
