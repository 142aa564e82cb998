import { type SyncPool, sharedFloat64 } from '../parallel/sync-pool';
import {
  type GbdtState,
  HIST_STRIDE,
  MAX_THRESHOLDS,
  type NodeSums,
  OUT_FIELDS,
  SLOTS_PER_CHUNK,
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
  readonly start: number;
  readonly end: number;
  readonly depth: number;
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

/** What growing one tree returns: the tree and its leaves as (start, end, value) ranges of `rows`. */
export interface GrownTree {
  readonly tree: Tree;
  readonly leaves: number[];
}

/**
 * Grows one tree best-first (the leaf with the largest gain splits next) on gradient and
 * hessian histograms, as scikit-learn's HistGradientBoosting: the smaller child's histogram
 * is built from its rows and the larger one's is the parent's minus it; children's sums come
 * from the split's histogram prefix. Histogram work runs on the pool's threads, one feature
 * per thread at a time, so the tree does not depend on the thread count.
 *
 * Expects `state.gh` filled and `state.rows` the identity; leaves `rows`
 * partitioned so each leaf owns a contiguous range.
 */
export function growTree(
  pool: SyncPool,
  slots: HistogramSlots,
  rootSums: { sumG: number; sumH: number },
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

  const rootNode: NodeSums = { sumG: rootSums.sumG, sumH: rootSums.sumH, count: n };
  const rootSlot = slots.take();
  pool.run('root', { slot: rootSlot, node: canSplit(rootNode, 0) ? rootNode : null });
  const open: Leaf[] = [
    { node: 0, start: 0, end: n, depth: 0, slot: rootSlot, sums: rootNode, split: bestSplit(s, 0) },
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
    const mid = partitionRows(pool, leaf.start, leaf.end, split.feature, split.bin);
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

    const leftSums: NodeSums = { sumG: split.gl, sumH: split.hl, count: mid - leaf.start };
    const rightSums: NodeSums = {
      sumG: leaf.sums.sumG - split.gl,
      sumH: leaf.sums.sumH - split.hl,
      count: leaf.end - mid,
    };
    const smallIsLeft = mid - leaf.start <= leaf.end - mid;
    const [start, end] = smallIsLeft ? [leaf.start, mid] : [mid, leaf.end];
    const depth = leaf.depth + 1;
    const smallSums = smallIsLeft ? leftSums : rightSums;
    const bigSums = smallIsLeft ? rightSums : leftSums;
    const smallSlot = slots.take();
    pool.run('children', {
      parent: leaf.slot,
      small: smallSlot,
      start,
      end,
      smallSums: canSplit(smallSums, depth) ? smallSums : null,
      bigSums: canSplit(bigSums, depth) ? bigSums : null,
    });
    const small: Leaf = {
      node: smallIsLeft ? leftNode : rightNode,
      start,
      end,
      depth,
      slot: smallSlot,
      sums: smallSums,
      split: bestSplit(s, 0),
    };
    const big: Leaf = {
      node: smallIsLeft ? rightNode : leftNode,
      start: smallIsLeft ? mid : leaf.start,
      end: smallIsLeft ? leaf.end : mid,
      depth,
      slot: leaf.slot,
      sums: bigSums,
      split: bestSplit(s, 1),
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
    ranges.push(leaf.start, leaf.end, value[leaf.node]!);
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

/** Rows from which a node's partition is split across threads (below, a barrier costs more than it saves). */
const PARALLEL_PARTITION_ROWS = 65_536;

/**
 * Stable partition of `rows[start, end)`: rows with bin <= `bin` first, each side in its old
 * order. Keeping each node's rows ascending keeps the histogram pass's reads moving forward
 * through memory. Large nodes are split across threads, whose shares are joined here by copies.
 */
function partitionRows(pool: SyncPool, start: number, end: number, f: number, bin: number): number {
  const s = pool.state as unknown as GbdtState;
  const { rows, scratch, n } = s;
  const threads = pool.threads;
  if (threads > 1 && end - start >= PARALLEL_PARTITION_ROWS) {
    pool.run('partition', { start, end, feature: f, bin });
    const chunk = Math.ceil((end - start) / threads);
    let w = start;
    for (let t = 0; t < threads; t++) {
      const cs = Math.min(end, start + t * chunk);
      rows.set(scratch.subarray(cs, cs + s.parts[t]!), w);
      w += s.parts[t]!;
    }
    const mid = w;
    for (let t = 0; t < threads; t++) {
      const cs = Math.min(end, start + t * chunk);
      const ce = Math.min(end, cs + chunk);
      const right = ce - cs - s.parts[t]!;
      rows.set(s.scratch2.subarray(cs, cs + right), w);
      w += right;
    }
    return mid;
  }
  const col = s.bins.subarray(f * n, (f + 1) * n);
  let w = start;
  let r = 0;
  for (let p = start; p < end; p++) {
    const row = rows[p]!;
    if (col[row]! <= bin) rows[w++] = row;
    else scratch[r++] = row;
  }
  rows.set(scratch.subarray(0, r), w);
  return w;
}
