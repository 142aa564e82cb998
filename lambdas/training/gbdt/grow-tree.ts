import type { Tree } from './tree';

/** Settings for growing one tree, named as in scikit-learn's HistGradientBoosting. */
export interface GrowOptions {
  readonly maxLeafNodes: number;
  readonly maxDepth: number;
  readonly minSamplesLeaf: number;
  readonly l2Regularization: number;
  readonly learningRate: number;
  readonly minHessianToSplit: number;
}

/** Pre-binned training data: one Uint8Array of bin codes per column and its thresholds. */
export interface BinnedData {
  readonly bins: readonly Uint8Array[];
  readonly thresholds: readonly Float64Array[];
  readonly rows: number;
}

interface Split {
  readonly gain: number;
  readonly feature: number;
  readonly bin: number;
}

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  hist: Float64Array;
  sumG: number;
  sumH: number;
  split: Split | undefined;
}

const STRIDE = 3 * 256;

/**
 * Grows one tree best-first (the leaf with the largest gain splits next) on gradient and
 * hessian histograms. The smaller child's histogram is built from its rows and the larger
 * one's is the parent minus it. Returns the tree and the gain each column contributed.
 *
 * `rows` is the working index array; its order is changed (rows are partitioned in place).
 */
export function growTree(
  data: BinnedData,
  rows: Uint32Array,
  grad: Float64Array,
  hess: Float64Array,
  opts: GrowOptions,
  gainByFeature: Float64Array,
): Tree {
  const nf = data.bins.length;
  const feature: number[] = [-1];
  const threshold: number[] = [0];
  const left: number[] = [-1];
  const right: number[] = [-1];
  const value: number[] = [0];

  const root: Leaf = {
    node: 0,
    start: 0,
    end: rows.length,
    depth: 0,
    hist: buildHist(data, rows, 0, rows.length, grad, hess, nf),
    sumG: 0,
    sumH: 0,
    split: undefined,
  };
  for (let i = 0; i < rows.length; i++) {
    root.sumG += grad[rows[i]!]!;
    root.sumH += hess[rows[i]!]!;
  }
  root.split = findSplit(root, data, opts);
  const open: Leaf[] = [root];
  let leaves = 1;
  while (open.length > 0) {
    let best = -1;
    for (let i = 0; i < open.length; i++) {
      const s = open[i]!.split;
      if (s && (best < 0 || s.gain > open[best]!.split!.gain)) best = i;
    }
    if (best < 0 || leaves >= opts.maxLeafNodes) break;
    const leaf = open.splice(best, 1)[0]!;
    const split = leaf.split!;
    gainByFeature[split.feature] = gainByFeature[split.feature]! + split.gain;
    // Partition rows: bins <= split.bin go left.
    const b = data.bins[split.feature]!;
    let i = leaf.start;
    let j = leaf.end - 1;
    while (i <= j) {
      if (b[rows[i]!]! <= split.bin) i++;
      else {
        const t = rows[i]!;
        rows[i] = rows[j]!;
        rows[j] = t;
        j--;
      }
    }
    const mid = i;
    const leftNode = feature.length;
    const rightNode = leftNode + 1;
    feature.push(-1, -1);
    threshold.push(0, 0);
    left.push(-1, -1);
    right.push(-1, -1);
    value.push(0, 0);
    feature[leaf.node] = split.feature;
    threshold[leaf.node] = data.thresholds[split.feature]![split.bin]!;
    left[leaf.node] = leftNode;
    right[leaf.node] = rightNode;
    const smallIsLeft = mid - leaf.start <= leaf.end - mid;
    const small = smallIsLeft ? [leaf.start, mid] : [mid, leaf.end];
    const smallHist = buildHist(data, rows, small[0]!, small[1]!, grad, hess, nf);
    const bigHist = leaf.hist;
    for (let k = 0; k < bigHist.length; k++) bigHist[k] = bigHist[k]! - smallHist[k]!;
    const mk = (node: number, start: number, end: number, hist: Float64Array): Leaf => {
      let g = 0;
      let h = 0;
      for (let r = start; r < end; r++) {
        g += grad[rows[r]!]!;
        h += hess[rows[r]!]!;
      }
      const child: Leaf = {
        node,
        start,
        end,
        depth: leaf.depth + 1,
        hist,
        sumG: g,
        sumH: h,
        split: undefined,
      };
      if (child.depth < opts.maxDepth) child.split = findSplit(child, data, opts);
      return child;
    };
    const l = mk(leftNode, leaf.start, mid, smallIsLeft ? smallHist : bigHist);
    const r = mk(rightNode, mid, leaf.end, smallIsLeft ? bigHist : smallHist);
    open.push(l, r);
    leaves++;
  }
  for (const leaf of open) {
    value[leaf.node] = (-opts.learningRate * leaf.sumG) / (leaf.sumH + opts.l2Regularization);
  }
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
  };
}

function buildHist(
  data: BinnedData,
  rows: Uint32Array,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
  nf: number,
): Float64Array {
  const hist = new Float64Array(nf * STRIDE);
  const n = end - start;
  // Gather the node's gradients once so the per-feature loops read them sequentially.
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const idx = rows.subarray(start, end);
  for (let i = 0; i < n; i++) {
    g[i] = grad[idx[i]!]!;
    h[i] = hess[idx[i]!]!;
  }
  for (let f = 0; f < nf; f++) {
    const b = data.bins[f]!;
    const base = f * STRIDE;
    for (let i = 0; i < n; i++) {
      const k = base + b[idx[i]!]! * 3;
      hist[k] = hist[k]! + g[i]!;
      hist[k + 1] = hist[k + 1]! + h[i]!;
      hist[k + 2] = hist[k + 2]! + 1;
    }
  }
  return hist;
}

function findSplit(leaf: Leaf, data: BinnedData, opts: GrowOptions): Split | undefined {
  const n = leaf.end - leaf.start;
  if (n < 2 * opts.minSamplesLeaf) return undefined;
  const lambda = opts.l2Regularization;
  const parentScore = (leaf.sumG * leaf.sumG) / (leaf.sumH + lambda);
  let best: Split | undefined;
  const hist = leaf.hist;
  for (let f = 0; f < data.bins.length; f++) {
    const nb = data.thresholds[f]!.length + 1;
    const base = f * STRIDE;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let b = 0; b < nb - 1; b++) {
      const k = base + b * 3;
      gl += hist[k]!;
      hl += hist[k + 1]!;
      cl += hist[k + 2]!;
      if (cl < opts.minSamplesLeaf) continue;
      if (n - cl < opts.minSamplesLeaf) break;
      const hr = leaf.sumH - hl;
      if (hl < opts.minHessianToSplit || hr < opts.minHessianToSplit) continue;
      const gr = leaf.sumG - gl;
      const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
      if (gain > 1e-12 && (!best || gain > best.gain)) best = { gain, feature: f, bin: b };
    }
  }
  return best;
}
