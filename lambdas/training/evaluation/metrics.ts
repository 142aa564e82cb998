/**
 * Test-set metrics. Binary metrics take P(y = 1) per row and 0/1 labels; regression
 * metrics take predicted and true values. Plain functions of arrays, so they score any
 * model (ours, a registered ONNX one, the current Production version) the same way.
 */

export interface ConfusionMatrix {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

export interface CalibrationBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly meanPredicted: number;
  readonly fractionPositive: number;
}

export interface BinaryMetrics {
  readonly auc: number;
  readonly log_loss: number;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly brier: number;
}

export interface RegressionMetrics {
  readonly rmse: number;
  readonly mae: number;
  readonly r2: number;
}

/** Area under the ROC curve via ranks; tied scores share their average rank. */
export function auc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[a]! - p[b]!);
  let rankSumPos = 0;
  let nPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && p[order[j + 1]!] === p[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[order[k]!] === 1) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Counts at a threshold: predicted positive when p >= threshold. */
export function confusionMatrix(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
): ConfusionMatrix {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const pos = p[i]! >= threshold;
    if (y[i] === 1) pos ? tp++ : fn++;
    else pos ? fp++ : tn++;
  }
  return { tp, fp, tn, fn };
}

/**
 * All binary metrics at a decision threshold (default 0.5); log-loss clips probabilities
 * to [1e-15, 1 - 1e-15] as scikit-learn does.
 */
export function binaryMetrics(y: ArrayLike<number>, p: ArrayLike<number>, threshold = 0.5): BinaryMetrics {
  const n = y.length;
  let ll = 0;
  let brier = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.min(Math.max(p[i]!, 1e-15), 1 - 1e-15);
    ll -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
    brier += (p[i]! - y[i]!) ** 2;
  }
  const cm = confusionMatrix(y, p, threshold);
  const precision = cm.tp + cm.fp === 0 ? 0 : cm.tp / (cm.tp + cm.fp);
  const recall = cm.tp + cm.fn === 0 ? 0 : cm.tp / (cm.tp + cm.fn);
  return {
    auc: auc(y, p),
    log_loss: ll / n,
    accuracy: (cm.tp + cm.tn) / n,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    brier: brier / n,
  };
}

/** Reliability table over equal-width probability bins; empty bins are left out. */
export function calibrationTable(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): CalibrationBin[] {
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)));
    count[b] = count[b]! + 1;
    sumP[b] = sumP[b]! + p[i]!;
    sumY[b] = sumY[b]! + y[i]!;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    out.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      count: count[b]!,
      meanPredicted: sumP[b]! / count[b]!,
      fractionPositive: sumY[b]! / count[b]!,
    });
  }
  return out;
}

/** RMSE, MAE and R² (1 - SSE/SST; NaN when the truth is constant). */
export function regressionMetrics(y: ArrayLike<number>, pred: ArrayLike<number>): RegressionMetrics {
  const n = y.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  let sse = 0;
  let sae = 0;
  let sst = 0;
  for (let i = 0; i < n; i++) {
    const e = pred[i]! - y[i]!;
    sse += e * e;
    sae += Math.abs(e);
    sst += (y[i]! - mean) ** 2;
  }
  return { rmse: Math.sqrt(sse / n), mae: sae / n, r2: sst === 0 ? Number.NaN : 1 - sse / sst };
}
