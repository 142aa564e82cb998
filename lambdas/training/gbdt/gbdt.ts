import type { DesignMatrix } from '../features/design-matrix';
import { createRng } from '../random';
import { binColumn, fitThresholds, MAX_BINS } from './binning';
import { type BinnedData, growTree } from './grow-tree';
import { type Tree, treeValue } from './tree';

/** Hyperparameters; defaults are scikit-learn's HistGradientBoosting defaults. */
export interface GbdtParams {
  readonly learningRate: number;
  readonly maxIterations: number;
  readonly maxLeafNodes: number;
  /** Infinity for no limit (the default, as scikit-learn's None). */
  readonly maxDepth: number;
  readonly minSamplesLeaf: number;
  readonly l2Regularization: number;
  readonly maxBins: number;
  /** Stop when the validation loss has not improved by `tolerance` for this many iterations. */
  readonly nIterNoChange: number;
  readonly tolerance: number;
  readonly seed: number;
}

export const DEFAULT_GBDT_PARAMS: GbdtParams = {
  learningRate: 0.1,
  maxIterations: 100,
  maxLeafNodes: 31,
  maxDepth: Number.POSITIVE_INFINITY,
  minSamplesLeaf: 20,
  l2Regularization: 0,
  maxBins: MAX_BINS,
  nIterNoChange: 10,
  tolerance: 1e-7,
  seed: 0,
};

export type GbdtTask = 'binary' | 'regression';

export interface GbdtModel {
  readonly kind: 'gbdt';
  readonly task: GbdtTask;
  readonly names: readonly string[];
  /** Raw score before the first tree (log-odds or mean). */
  readonly baseScore: number;
  readonly trees: readonly Tree[];
  /** Total split gain per column. */
  readonly gain: Float64Array;
}

/** Per-iteration losses, reported as training runs. */
export interface GbdtProgress {
  readonly iteration: number;
  readonly trainLoss: number;
  readonly validationLoss?: number;
}

/**
 * Trains gradient-boosted trees on histograms of pre-binned columns: logistic loss for
 * `binary` (labels 0/1), squared error for `regression`. With validation rows, stops early
 * and keeps the trees up to the best validation loss.
 *
 * @example
 * const model = trainGbdt(X, y, 'binary', DEFAULT_GBDT_PARAMS, { X: Xval, y: yval });
 */
export function trainGbdt(
  X: DesignMatrix,
  y: Float64Array,
  task: GbdtTask,
  params: GbdtParams,
  validation?: { X: DesignMatrix; y: Float64Array },
  onIteration?: (p: GbdtProgress) => void,
): GbdtModel {
  const rng = createRng(params.seed);
  const maxBins = Math.min(MAX_BINS, Math.max(2, params.maxBins));
  const thresholds = X.columns.map((c) => fitThresholds(c, maxBins, rng));
  const data: BinnedData = {
    bins: X.columns.map((c, j) => binColumn(c, thresholds[j]!)),
    thresholds,
    rows: X.rows,
  };
  const n = X.rows;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  const baseScore = task === 'binary' ? Math.log(mean / (1 - mean)) : mean;
  const raw = new Float64Array(n).fill(baseScore);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const rows = new Uint32Array(n);
  const gain = new Float64Array(X.columns.length);
  const trees: Tree[] = [];
  const valRaw = validation ? new Float64Array(validation.X.rows).fill(baseScore) : undefined;
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestIter = 0;
  const gainAtIter: Float64Array[] = [];
  for (let it = 0; it < params.maxIterations; it++) {
    for (let i = 0; i < n; i++) {
      if (task === 'binary') {
        const p = 1 / (1 + Math.exp(-raw[i]!));
        grad[i] = p - y[i]!;
        hess[i] = Math.max(p * (1 - p), 1e-16);
      } else {
        grad[i] = raw[i]! - y[i]!;
        hess[i] = 1;
      }
      rows[i] = i;
    }
    const tree = growTree(
      data,
      rows,
      grad,
      hess,
      {
        maxLeafNodes: params.maxLeafNodes,
        maxDepth: params.maxDepth,
        minSamplesLeaf: params.minSamplesLeaf,
        l2Regularization: params.l2Regularization,
        learningRate: params.learningRate,
        minHessianToSplit: 1e-3,
      },
      gain,
    );
    trees.push(tree);
    gainAtIter.push(gain.slice());
    addTreeBinned(tree, data, raw);
    const trainLoss = loss(task, y, raw);
    let validationLoss: number | undefined;
    if (validation && valRaw) {
      for (let i = 0; i < validation.X.rows; i++)
        valRaw[i] = valRaw[i]! + treeValue(tree, validation.X.columns, i);
      validationLoss = loss(task, validation.y, valRaw);
    }
    onIteration?.({ iteration: it + 1, trainLoss, validationLoss });
    if (validationLoss !== undefined) {
      if (validationLoss < bestLoss - params.tolerance) {
        bestLoss = validationLoss;
        bestIter = it + 1;
      } else if (it + 1 - bestIter >= params.nIterNoChange) {
        break;
      }
    }
  }
  const keep = validation ? Math.max(1, bestIter) : trees.length;
  return {
    kind: 'gbdt',
    task,
    names: X.names,
    baseScore,
    trees: trees.slice(0, keep),
    gain: gainAtIter[keep - 1] ?? gain,
  };
}

function addTreeBinned(tree: Tree, data: BinnedData, raw: Float64Array): void {
  // Training rows follow bins, which agree with thresholds by construction of binColumn.
  const binOfNode = new Int32Array(tree.feature.length);
  for (let k = 0; k < tree.feature.length; k++) {
    const f = tree.feature[k]!;
    if (f >= 0) {
      const th = data.thresholds[f]!;
      binOfNode[k] = th.indexOf(tree.threshold[k]!);
    }
  }
  for (let i = 0; i < raw.length; i++) {
    let node = 0;
    for (;;) {
      const f = tree.feature[node]!;
      if (f < 0) break;
      node = data.bins[f]![i]! <= binOfNode[node]! ? tree.left[node]! : tree.right[node]!;
    }
    raw[i] = raw[i]! + tree.value[node]!;
  }
}

function loss(task: GbdtTask, y: Float64Array, raw: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const r = raw[i]!;
    if (task === 'binary') {
      const m = y[i] === 1 ? -r : r;
      s += m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
    } else {
      s += 0.5 * (r - y[i]!) ** 2;
    }
  }
  return s / y.length;
}

/** Raw scores: the sum of leaves (in tree order, in double, as the ONNX TreeEnsemble) plus the base score. */
export function rawScores(model: GbdtModel, X: DesignMatrix): Float64Array {
  const out = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    for (const t of model.trees) s += treeValue(t, X.columns, i);
    out[i] = s + model.baseScore;
  }
  return out;
}

/** Predictions: P(y = 1) for `binary`, the value for `regression`. */
export function predictGbdt(model: GbdtModel, X: DesignMatrix): Float64Array {
  const raw = rawScores(model, X);
  if (model.task === 'regression') return raw;
  for (let i = 0; i < raw.length; i++) raw[i] = 1 / (1 + Math.exp(-raw[i]!));
  return raw;
}
