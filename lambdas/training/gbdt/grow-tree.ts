import { sharedFloat64 } from '../parallel/shared-memory';
import type { SyncPool } from '../parallel/sync-pool';
import {
  type GbdtState,
  HIST_STRIDE,
  MAX_THRESHOLDS,
  type NodeSums,
  OUT_FIELDS,
  type Segments,
  SLOTS_PER_CHUNK,
  SMALL_NODE,
} from './kernels';
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

interface Split {
  readonly gain: number;
  readonly feature: number;
  readonly bin: number;
  readonly gl: number;
  readonly hl: number;
  readonly cl: number;
}

interface Leaf {
  readonly node: number;
  readonly rows: Segments;
  readonly depth: number;
  /** The rows' bin words are in `words` at the leaf's positions (see SMALL_NODE). */
  readonly small: boolean;
  /** Histogram slot; -1 once the leaf can no longer split (its histogram is not needed). */
  slot: number;
  readonly sums: NodeSums;
  readonly split: Split | undefined;
}

/**
 * Histogram slots in shared chunks, reused across nodes and trees. A split leaf hands its
 * slot to its larger child, so live slots never exceed the leaves that may still split.
 */
export class HistogramSlots {
  private readonly free: number[] = [];
  private count = 0;

  constructor(
    private readonly pool: SyncPool,
    private readonly features: number,
  ) {}

  take(): number {
    const s = this.free.pop();
    if (s !== undefined) return s;
    if (this.count % SLOTS_PER_CHUNK === 0) {
      const chunk = this.count / SLOTS_PER_CHUNK;
      this.pool.share({ [`hist${chunk}`]: sharedFloat64(SLOTS_PER_CHUNK * this.features * HIST_STRIDE) });
    }
    return this.count++;
  }

  release(slot: number): void {
    if (slot >= 0) this.free.push(slot);
  }
}

/**
 * What growing one tree returns: the tree and its leaves, each as its value and then its
 * ranges of `rows` (lo per lane, then hi per lane), as the `apply` kernel reads them.
 */
export interface GrownTree {
  readonly tree: Tree;
  readonly leaves: number[];
}

/**
 * Grows one tree best-first (the leaf with the largest gain splits next) on gradient and
 * hessian histograms, as scikit-learn's HistGradientBoosting: the smaller child's histogram
 * is built from its rows and the larger one's is the parent's minus it; children's sums come
 * from the split's histogram prefix. Histogram work runs on the pool's threads in units of a
 * row block and a feature group, so the tree does not depend on the thread count.
 *
 * Expects `state.gh` filled and `state.rows` the identity (and, with `root.countsKnown`,
 * `state.rootCounts` from an earlier tree); leaves `rows` partitioned so each leaf owns a
 * contiguous range in every lane.
 */
export function growTree(
  pool: SyncPool,
  slots: HistogramSlots,
  root: { sumG: number; sumH: number; countsKnown: boolean },
  opts: GrowOptions,
  gainByFeature: Float64Array,
): GrownTree {
  const s = pool.state as unknown as GbdtState;
  const n = s.n;
  const feature: number[] = [-1];
  const threshold: number[] = [0];
  const left: number[] = [-1];
  const right: number[] = [-1];
  const value: number[] = [0];
  const canSplit = (sums: NodeSums, depth: number) =>
    depth < opts.maxDepth && sums.count >= 2 * opts.minSamplesLeaf;

  const rootNode: NodeSums = { sumG: root.sumG, sumH: root.sumH, count: n };
  const rootRows: Segments = {
    lo: Array.from({ length: s.lanes }, (_, l) => l * s.laneRows),
    hi: Array.from({ length: s.lanes }, (_, l) => Math.min(n, (l + 1) * s.laneRows)),
  };
  const rootSlot = slots.take();
  pool.run('hist', { slot: rootSlot, ...rootRows, root: true, small: false, count: !root.countsKnown });
  pool.run('rootSplit', {
    slot: rootSlot,
    node: canSplit(rootNode, 0) ? rootNode : null,
    countsKnown: root.countsKnown,
  });
  const open: Leaf[] = [
    {
      node: 0,
      rows: rootRows,
      depth: 0,
      small: false,
      slot: rootSlot,
      sums: rootNode,
      split: bestSplit(s, 0),
    },
  ];
  settle(open[0]!, slots);
  let leaves = 1;
  while (open.length > 0) {
    let best = -1;
    for (let i = 0; i < open.length; i++) {
      const sp = open[i]!.split;
      if (sp && (best < 0 || sp.gain > open[best]!.split!.gain)) best = i;
    }
    if (best < 0 || leaves >= opts.maxLeafNodes) break;
    const leaf = open.splice(best, 1)[0]!;
    const split = leaf.split!;
    gainByFeature[split.feature] = gainByFeature[split.feature]! + split.gain;
    const leftNode = feature.length;
    const rightNode = leftNode + 1;
    feature.push(-1, -1);
    threshold.push(0, 0);
    left.push(-1, -1);
    right.push(-1, -1);
    value.push(0, 0);
    feature[leaf.node] = split.feature;
    threshold[leaf.node] = s.thr[split.feature * MAX_THRESHOLDS + split.bin]!;
    left[leaf.node] = leftNode;
    right[leaf.node] = rightNode;

    // The split's histogram prefix counts the left rows.
    const leftCount = split.cl;
    const leftSums: NodeSums = { sumG: split.gl, sumH: split.hl, count: leftCount };
    const rightSums: NodeSums = {
      sumG: leaf.sums.sumG - split.gl,
      sumH: leaf.sums.sumH - split.hl,
      count: leaf.sums.count - leftCount,
    };
    const smallIsLeft = leftSums.count <= rightSums.count;
    const depth = leaf.depth + 1;
    const smallSums = smallIsLeft ? leftSums : rightSums;
    const bigSums = smallIsLeft ? rightSums : leftSums;
    const smallCan = canSplit(smallSums, depth);
    const bigCan = canSplit(bigSums, depth);
    // Children that will never split need no histograms: neither may split, or this split
    // makes the last leaf (as scikit-learn's grower, which stops before their histograms).
    const histograms = (smallCan || bigCan) && leaves + 1 < opts.maxLeafNodes;
    // A small child carries its bin words (SMALL_NODE) when anything will read them: a large
    // parent gathers them only then, a small one moves its own anyway.
    const isSmall = (count: number) => count * SMALL_NODE < n;
    const wantWords = (sums: NodeSums, isSmallSide: boolean) =>
      isSmall(sums.count) && histograms && (isSmallSide || canSplit(sums, depth));
    const leftWords = leaf.small || wantWords(leftSums, smallIsLeft);
    const rightWords = leaf.small || wantWords(rightSums, !smallIsLeft);
    const [leftRows, rightRows] = partitionRows(pool, leaf.rows, leaf.sums.count, {
      feature: split.feature,
      bin: split.bin,
      small: leaf.small,
      gatherLeft: !leaf.small && leftWords,
      gatherRight: !leaf.small && rightWords,
    });
    const smallRows = smallIsLeft ? leftRows : rightRows;
    const smallSlot = histograms ? slots.take() : -1;
    if (histograms) {
      const small = smallIsLeft ? leftWords : rightWords;
      pool.run('hist', { slot: smallSlot, ...smallRows, root: false, small, count: true });
      pool.run('childSplit', { parent: leaf.slot, small: smallSlot, smallSums, smallCan, bigSums, bigCan });
    }
    const small: Leaf = {
      node: smallIsLeft ? leftNode : rightNode,
      rows: smallRows,
      depth,
      small: smallIsLeft ? leftWords : rightWords,
      slot: smallSlot,
      sums: smallSums,
      split: histograms ? bestSplit(s, 0) : undefined,
    };
    const big: Leaf = {
      node: smallIsLeft ? rightNode : leftNode,
      rows: smallIsLeft ? rightRows : leftRows,
      depth,
      small: smallIsLeft ? rightWords : leftWords,
      slot: leaf.slot,
      sums: bigSums,
      split: histograms ? bestSplit(s, 1) : undefined,
    };
    settle(small, slots);
    settle(big, slots);
    if (smallIsLeft) open.push(small, big);
    else open.push(big, small);
    leaves++;
  }
  const ranges: number[] = [];
  for (const leaf of open) {
    value[leaf.node] = (-opts.learningRate * leaf.sums.sumG) / (leaf.sums.sumH + opts.l2Regularization);
    ranges.push(value[leaf.node]!, ...leaf.rows.lo, ...leaf.rows.hi);
    slots.release(leaf.slot);
    leaf.slot = -1;
  }
  return {
    tree: {
      feature: Int32Array.from(feature),
      threshold: Float64Array.from(threshold),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      value: Float64Array.from(value),
    },
    leaves: ranges,
  };
}

/** A leaf that cannot split gives its histogram slot back at once. */
function settle(leaf: Leaf, slots: HistogramSlots): void {
  if (!leaf.split) {
    slots.release(leaf.slot);
    leaf.slot = -1;
  }
}

/** The best of the per-feature candidates the kernels wrote for child `c` (first feature wins ties). */
function bestSplit(s: GbdtState, c: number): Split | undefined {
  const out = s.out;
  let best: Split | undefined;
  for (let f = 0; f < s.nf; f++) {
    const o = (c * s.nf + f) * OUT_FIELDS;
    const gain = out[o]!;
    if (gain > 0 && (!best || gain > best.gain)) {
      best = { gain, feature: f, bin: out[o + 1]!, gl: out[o + 2]!, hl: out[o + 3]!, cl: out[o + 4]! };
    }
  }
  return best;
}

/** Rows from which a node's partition runs on every thread (below, a barrier costs more than it saves). */
const PARALLEL_PARTITION_ROWS = 16_384;

/**
 * Stable partition of a node's rows (and their gradients in `gh`, and bin words as `how`
 * says) by bin <= `how.bin` of `how.feature`, lane by lane (the `partition` kernel): returns
 * the left and the right child's rows.
 */
function partitionRows(
  pool: SyncPool,
  rows: Segments,
  count: number,
  how: { feature: number; bin: number; small: boolean; gatherLeft: boolean; gatherRight: boolean },
): [Segments, Segments] {
  const s = pool.state as unknown as GbdtState;
  const args = { ...rows, ...how };
  if (pool.threads > 1 && count >= PARALLEL_PARTITION_ROWS) pool.run('partition', args);
  else pool.runHere('partition', args);
  const mids = Array.from(s.mids.subarray(0, rows.lo.length));
  return [
    { lo: rows.lo, hi: mids },
    { lo: mids, hi: rows.hi },
  ];
}
