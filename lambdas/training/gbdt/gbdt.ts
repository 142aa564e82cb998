import type { DesignMatrix } from '../design/design-matrix';
import { sharedFloat64, shareFloat64 } from '../parallel/shared-memory';
import { defaultThreads, SyncPool } from '../parallel/sync-pool';
import { createRng } from '../random';
import { binColumns, MAX_BINS } from './binning';
import { growTree, HistogramSlots } from './grow-tree';
import {
  BLOCK_ROWS,
  gbdtKernels,
  HIST_STRIDE,
  histBlockRows,
  laneRows,
  MAX_THRESHOLDS,
  OUT_FIELDS,
} from './kernels';
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
  /**
   * Threads to train on; the model is the same for any count. Default: `defaultThreads()`
   * (cores, or the vCPUs a Lambda's memory buys) for tables of AUTO_THREADS_CELLS cells or
   * more, else 1, where starting workers would cost more than it saves.
   */
  readonly threads?: number;
}

/** Rows × columns from which training uses every thread by default. */
export const AUTO_THREADS_CELLS = 1_000_000;

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
  const n = X.rows;
  const nf = X.columns.length;
  const threads = params.threads ?? (n * nf >= AUTO_THREADS_CELLS ? defaultThreads() : 1);
  const pool = new SyncPool(gbdtKernels, threads);
  try {
    return boost(pool, X, y, task, params, validation, onIteration);
  } finally {
    pool.close();
  }
}

function boost(
  pool: SyncPool,
  X: DesignMatrix,
  y: Float64Array,
  task: GbdtTask,
  params: GbdtParams,
  validation: { X: DesignMatrix; y: Float64Array } | undefined,
  onIteration: ((p: GbdtProgress) => void) | undefined,
): GbdtModel {
  const n = X.rows;
  const nf = X.columns.length;
  const shared = <T>(make: (b: SharedArrayBuffer) => T, bytes: number) => make(new SharedArrayBuffer(bytes));
  const raw = sharedFloat64(n);
  const nBlocks = Math.ceil(n / BLOCK_ROWS);
  const blocks = sharedFloat64(3 * nBlocks);
  const binBytes = new SharedArrayBuffer(4 * Math.ceil(nf / 4) * n);
  const ghBytes = new SharedArrayBuffer(8 * n);
  const ghScratchBytes = new SharedArrayBuffer(8 * n);
  pool.share({
    n,
    nf,
    lambda: params.l2Regularization,
    minLeaf: params.minSamplesLeaf,
    minHess: 1e-3,
    bins: new Uint8Array(binBytes),
    bins32: new Uint32Array(binBytes),
    cols: shared((b) => new Uint8Array(b), nf * n),
    words: shared((b) => new Uint32Array(b), 4 * Math.ceil(nf / 4) * n),
    wordScratch: shared((b) => new Uint32Array(b), 4 * Math.ceil(nf / 4) * n),
    side: shared((b) => new Uint8Array(b), n),
    thr: sharedFloat64(nf * MAX_THRESHOLDS),
    nb: shared((b) => new Int32Array(b), 4 * nf),
    // Read only: a trial's labels are shared already, others are copied once.
    y: shareFloat64(y),
    raw,
    gh: new Float32Array(ghBytes),
    gh2: new Float64Array(ghBytes),
    rows: shared((b) => new Uint32Array(b), 4 * n),
    scratch: shared((b) => new Uint32Array(b), 4 * n),
    ghScratch: new Float32Array(ghScratchBytes),
    ghScratch2: new Float64Array(ghScratchBytes),
    laneRows: laneRows(n),
    lanes: Math.ceil(n / laneRows(n)),
    mids: shared((b) => new Int32Array(b), 4 * Math.ceil(n / laneRows(n))),
    blocks,
    out: sharedFloat64(2 * nf * OUT_FIELDS),
    rootCounts: sharedFloat64(256 * nf),
    histBlock: histBlockRows(n),
    blockHist: sharedFloat64(Math.max(1, Math.ceil(n / histBlockRows(n)) - 1) * nf * HIST_STRIDE),
  });
  const maxBins = Math.min(MAX_BINS, Math.max(2, params.maxBins));
  binColumns(pool, X.columns, maxBins, createRng(params.seed));

  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  const baseScore = task === 'binary' ? Math.log(mean / (1 - mean)) : mean;
  raw.fill(baseScore);
  const binary = task === 'binary';
  const sumBlocks = (field: number) => {
    let t = 0;
    for (let b = 0; b < nBlocks; b++) t += blocks[b * 3 + field]!;
    return t;
  };
  // The training loss costs a log1p per row: computed only for a caller that reads it.
  const withLoss = onIteration !== undefined;
  pool.run('grad', { binary, withLoss });
  const slots = new HistogramSlots(pool, nf);
  const gain = new Float64Array(nf);
  const trees: Tree[] = [];
  const valRaw = validation ? new Float64Array(validation.X.rows).fill(baseScore) : undefined;
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestIter = 0;
  const gainAtIter: Float64Array[] = [];
  const grow = {
    maxLeafNodes: params.maxLeafNodes,
    maxDepth: params.maxDepth,
    minSamplesLeaf: params.minSamplesLeaf,
    l2Regularization: params.l2Regularization,
    learningRate: params.learningRate,
    minHessianToSplit: 1e-3,
  };
  for (let it = 0; it < params.maxIterations; it++) {
    const root = { sumG: sumBlocks(1), sumH: sumBlocks(2), countsKnown: it > 0 };
    const { tree, leaves } = growTree(pool, slots, root, grow, gain);
    trees.push(tree);
    gainAtIter.push(gain.slice());
    // Training rows' scores move by their leaf (the partition says which), no tree walk needed.
    pool.run('apply', { leaves });
    // The next tree's gradients, and this iteration's loss, in one pass.
    pool.run('grad', { binary, withLoss });
    const trainLoss = sumBlocks(0) / n;
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
