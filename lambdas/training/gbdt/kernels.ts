import type { Kernel } from '../parallel/sync-pool';

/**
 * The shared arrays the GBDT kernels work on (all over SharedArrayBuffers). Bin codes are one
 * byte each, in groups of four features: group g holds one 32-bit word per row, feature 4g + j
 * in byte j (feature f of row i at byte ((f >> 2)·n + i)·4 + (f & 3)), so a histogram pass over
 * a group reads one word per row. `rows` is the row-index partition, cut into lanes of
 * `laneRows` positions (lane l starts as rows l·laneRows, ...): each node owns one contiguous
 * range in every lane (a `Segments`), so a node's rows are partitioned lane by lane, each
 * lane by one thread, with no merge across threads. A node's rows, read lane after lane, are
 * in ascending row order whatever the lanes, so every sum is taken in the same order.
 */
export interface GbdtState {
  n: number;
  nf: number;
  bins: Uint8Array;
  /** The same memory as `bins`, one word (four features) per row and group. */
  bins32: Uint32Array;
  /**
   * The bin codes again, one column of n bytes per feature (feature f of row i at f·n + i):
   * a large node's partition reads its feature from here (n bytes, mostly in L2, where the
   * feature's group words are 4n).
   */
  cols: Uint8Array;
  /**
   * The bin words of small nodes' rows by position (group g's word of the row at position p
   * at g·n + p; see SMALL_NODE), moved with their rows through each partition.
   */
  words: Uint32Array;
  /** Scratch for a partition of `words` (a lane's right side, at the lane's positions). */
  wordScratch: Uint32Array;
  /** Per position: 1 when the running partition sends the row left (read to move `words`). */
  side: Uint8Array;
  /** Thresholds, MAX_THRESHOLDS per feature; `nb[f]` bins are in use (thresholds + 1). */
  thr: Float64Array;
  nb: Int32Array;
  /** Staging for binning: one column (and sample row numbers) per thread. */
  stage: Float64Array;
  /** The caller's columns, when they are in shared memory: binned in place, with no staging. */
  x: Float64Array[];
  sample: Uint32Array;
  y: Float64Array;
  raw: Float64Array;
  /**
   * Gradient and hessian of the row at position p of `rows`, at 2p and 2p+1. Partitions move
   * them with their rows, so a node's histogram pass reads them in order instead of gathering
   * them by row number (a cache miss per row that was the pass's largest cost). In single
   * precision, as scikit-learn keeps them (sums are in double): half the bytes to move and
   * read, 3-8% off a two-thread fit on 1M × 20 (five alternating pairs), AUC equal to 9 digits.
   */
  gh: Float32Array;
  rows: Uint32Array;
  /** Scratch for the stable partition of `rows` and `gh` (a lane's right rows, at the lane's positions). */
  scratch: Uint32Array;
  ghScratch: Float32Array;
  /**
   * `gh` and `ghScratch` again, a row's pair as one 8-byte element, so a partition moves it
   * with one load and one store per side. Never a NaN pattern (which a move might alter):
   * the high half is the hessian, positive and at most 1, so the exponent bits are not all ones.
   */
  gh2: Float64Array;
  ghScratch2: Float64Array;
  /** Positions per lane (the last lane may be shorter) and the lane count. */
  laneRows: number;
  lanes: number;
  /** Per lane: where the left rows of the last partition end. */
  mids: Int32Array;
  /** Per block of rows: loss, sum of gradients, sum of hessians (summed in block order: thread-count independent). */
  blocks: Float64Array;
  /** Best split per child (2) and feature: gain (-1 when none), bin, left gradient, left hessian, left count. */
  out: Float64Array;
  /**
   * The root's row count per feature and bin (256 per feature): every tree's root holds every
   * row, so counts are taken once and later roots sum only gradients and hessians.
   */
  rootCounts: Float64Array;
  /** Rows per block of a large node's histogram pass (see `histBlockRows` and `blockRows`). */
  histBlock: number;
  /** Partial histograms of a node's row blocks 1, 2, ... (block 0 is built in the slot). */
  blockHist: Float64Array;
  lambda: number;
  minLeaf: number;
  minHess: number;
  /** Histogram slots come in chunks `hist0`, `hist1`, ... of SLOTS_PER_CHUNK. */
  [chunk: `hist${number}`]: Float64Array;
}

export const MAX_THRESHOLDS = 254;
export const SLOTS_PER_CHUNK = 8;
/** Rows per block of the row-parallel passes; fixed, so sums do not depend on the thread count. */
export const BLOCK_ROWS = 16_384;
/**
 * Rows per block of a node's histogram pass: at least 65,536 (a block's work must outweigh
 * combining its partial histogram), and at most 32 blocks per node, which bounds the partial
 * histograms' memory. Fixed by the row count alone, so sums never depend on the threads.
 */
export function histBlockRows(n: number): number {
  return Math.max(65_536, Math.ceil(n / 32));
}
/**
 * A node holding fewer than 1/SMALL_NODE of the rows carries its rows' bin words in `words`,
 * at its positions: gathered once from the table when a larger node splits into it, then
 * moved with the rows by each partition, so its histogram pass reads them in order. Its rows
 * are sparse in the table, where gathering words (or, before, bytes of the feature columns)
 * by row number missed the cache on nearly every row: 122 ns per row for 20 features at
 * 1/64-1/16 of 1M rows and 358 ns below 1/64, against about 40 in order. Larger nodes' rows
 * are dense enough for the gather to stream (42 against 39 ns at 1/4 and more), where moving
 * their words would cost more than it saves. 8 gave the least histogram and partition CPU
 * time of 4, 8, 16 and 32 (1M × 20, 30 rounds, one thread: 4.66 s, against 5.24 s with byte
 * columns). The sums are the same either way (each bin adds the same rows in the same order).
 */
export const SMALL_NODE = 8;
/**
 * Lanes of the row partition: at least 65,536 rows each (a lane's partition must outweigh a
 * barrier), at most 32. Fixed by the row count alone; lanes never change a sum's order.
 */
export function laneRows(n: number): number {
  return Math.max(65_536, Math.ceil(n / 32));
}

/**
 * A node's rows: positions [lo[l], hi[l]) of `rows` in each lane l, lane after lane. The root
 * holds lane l's whole range.
 */
export interface Segments {
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

/** Doubles per feature in a histogram: 256 bins of (gradient, hessian, count). */
export const HIST_STRIDE = 3 * 256;
export const OUT_FIELDS = 5;

/** Sums a node's split search needs; null when the node may not split. */
export interface NodeSums {
  readonly sumG: number;
  readonly sumH: number;
  readonly count: number;
}

export interface BinArgs {
  /** Feature each thread bins this wave (index = thread), -1 for none. */
  readonly features: readonly number[];
  readonly sampled: boolean;
  readonly sampleSize: number;
  readonly maxBins: number;
  /** The columns are in `stage` (one per thread), not read in place from `x`. */
  readonly staged: boolean;
}

/**
 * The GBDT kernels. Each thread takes a contiguous range of (row block, feature group) units
 * for histogram passes, of features for split search,
 * of lanes for partitions and score updates, and blocks b ≡ index (mod threads) for gradient
 * passes; every unit, feature, lane or block is computed by one thread in a fixed order, so
 * results are bit-identical whatever the thread count.
 *
 * Shipped to workers as source text: everything it uses is inside its body.
 */
export function gbdtKernels(): Record<string, Kernel> {
  const THRESHOLDS = 254;
  const CHUNK = 8;
  const STRIDE = 768;
  const FIELDS = 5;
  const BLOCK = 16_384;

  const slotBase = (s: GbdtState, slot: number, f: number): [Float64Array, number] => [
    s[`hist${Math.floor(slot / CHUNK)}`]!,
    ((slot % CHUNK) * s.nf + f) * STRIDE,
  ];

  type Gather = (
    words: Uint32Array,
    table: Uint32Array,
    rows: Uint32Array,
    n: number,
    p0: number,
    p1: number,
  ) => void;
  type Move = (
    words: Uint32Array,
    scratch: Uint32Array,
    side: Uint8Array,
    n: number,
    start: number,
    end: number,
  ) => number;
  const compiled = new Map<string, unknown>();
  /**
   * A function whose loop over positions has one statement per group of bin words, unrolled
   * for the group count (`perGroup(j)` gives group j's; `code(body)` the whole function
   * body), compiled once per kind and count. A row's accesses to every group then go
   * together: a pass per group, or a loop over the groups inside, took twice as long.
   */
  const unrolled = <F>(
    kind: string,
    groups: number,
    params: readonly string[],
    perGroup: (j: number) => string,
    code: (body: string) => string,
  ): F => {
    const key = `${kind}/${groups}`;
    let f = compiled.get(key);
    if (!f) {
      const body = Array.from({ length: groups }, (_, j) => perGroup(j)).join('\n');
      f = new Function(...params, code(body));
      compiled.set(key, f);
    }
    return f as F;
  };
  /**
   * Copies the bin words of the rows at positions [p0, p1) of `rows` from the table to
   * `words` at those positions, every group at once: the loads of a row's words miss the
   * cache together (2-2.5 times faster than a pass per group, 5 groups, rows at 1/16 to 1/64
   * of the table).
   */
  const gatherFor = (groups: number): Gather =>
    unrolled(
      'gather',
      groups,
      ['words', 'table', 'rows', 'n', 'p0', 'p1'],
      (j) => `words[${j} * n + p] = table[${j} * n + r];`,
      (body) => `for (let p = p0; p < p1; p++) {\nconst r = rows[p];\n${body}\n}`,
    );
  /**
   * Stable partition of every group's words at positions [start, end) by `side` (1: left),
   * in one pass: writes each word to both sides, right ones to `scratch`, and returns where
   * the left ones end; the caller copies the right ones back.
   */
  const moveFor = (groups: number): Move =>
    unrolled(
      'move',
      groups,
      ['words', 'scratch', 'side', 'n', 'start', 'end'],
      (j) => `{ const v = words[${j} * n + p]; words[${j} * n + wl] = v; scratch[${j} * n + wr] = v; }`,
      (body) =>
        `let wl = start;\nlet wr = start;\nfor (let p = start; p < end; p++) {\nconst left = side[p];\n${body}\nwl += left;\nwr += 1 - left;\n}\nreturn wl;`,
    );

  /**
   * Rows per histogram block of a node of `count` rows: `histBlock`, and half the node from
   * 16,384 rows up to it, so such a node's units (a block and a group of four features) are
   * twice its groups and spread evenly over two threads (5 groups split 3:2 alone).
   */
  const blockRows = (s: GbdtState, count: number): number =>
    count > s.histBlock ? s.histBlock : count >= 16_384 ? Math.ceil(count / 2) : Math.max(1, count);
  const blocksOf = (s: GbdtState, count: number): number =>
    Math.max(1, Math.ceil(count / blockRows(s, count)));

  const midpoint = (a: number, b: number): number => {
    const m = a + (b - a) / 2;
    // Adjacent doubles: a rounded-up midpoint would merge b into a's bin.
    return m >= b ? a : m;
  };

  /**
   * Split thresholds of one column: midpoints between distinct values when there are few,
   * quantiles of the sample (midpoint interpolation, as scikit-learn) otherwise. A row falls in
   * bin b when t[b-1] < x <= t[b]: the BRANCH_LEQ comparison the exported TreeEnsemble makes.
   */
  const fitThresholds = (sample: Float64Array, maxBins: number): number[] => {
    sample.sort();
    // Distinct values, counted only up to maxBins + 1: past that the quantile path is taken.
    let nDistinct = 0;
    for (let i = 0; i < sample.length && nDistinct <= maxBins; i++) {
      if (i === 0 || sample[i] !== sample[i - 1]) nDistinct++;
    }
    const cuts: number[] = [];
    if (nDistinct <= maxBins) {
      let prev = sample[0]!;
      for (let i = 1; i < sample.length; i++) {
        const v = sample[i]!;
        if (v !== prev) {
          cuts.push(midpoint(prev, v));
          prev = v;
        }
      }
    } else {
      for (let k = 1; k < maxBins; k++) {
        const pos = (k / maxBins) * (sample.length - 1);
        const lo = sample[Math.floor(pos)]!;
        const hi = sample[Math.ceil(pos)]!;
        cuts.push(lo === hi ? lo : midpoint(lo, hi));
      }
    }
    const out: number[] = [];
    for (const c of cuts) if (out.length === 0 || c > out[out.length - 1]!) out.push(c);
    return out;
  };

  /** The best split of one feature's histogram into `out` at `o` (gain -1 when none). */
  const findSplit = (
    s: GbdtState,
    h: Float64Array,
    base: number,
    nb: number,
    node: NodeSums,
    o: number,
  ): void => {
    const lambda = s.lambda;
    const minLeaf = s.minLeaf;
    const minHess = s.minHess;
    const { sumG, sumH, count } = node;
    const parentScore = (sumG * sumG) / (sumH + lambda);
    let best = -1;
    let bestBin = 0;
    let bestG = 0;
    let bestH = 0;
    let bestC = 0;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let b = 0; b < nb - 1; b++) {
      const k = base + b * 3;
      gl += h[k]!;
      hl += h[k + 1]!;
      cl += h[k + 2]!;
      if (cl < minLeaf) continue;
      if (count - cl < minLeaf) break;
      const hr = sumH - hl;
      if (hl < minHess || hr < minHess) continue;
      const gr = sumG - gl;
      const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
      if (gain > 1e-12 && gain > best) {
        best = gain;
        bestBin = b;
        bestG = gl;
        bestH = hl;
        bestC = cl;
      }
    }
    const out = s.out;
    out[o] = best;
    out[o + 1] = bestBin;
    out[o + 2] = bestG;
    out[o + 3] = bestH;
    out[o + 4] = bestC;
  };

  /**
   * One work unit of a node's histograms: features [f0, f0 + nfeat) (one group of four, or
   * the last, shorter group) over positions [start, end), added into `h` where feature
   * f0 + j starts at `b0 + j·STRIDE`. The group's words are `table`'s (one per row, gathered
   * by `rows`), or with `rows` null read in place (the root in the table, a small node in
   * `words`). A full group is one pass: one 32-bit load gives a row's four bin codes and
   * one gradient/hessian load serves four histogram updates, while four 6 KiB histograms stay
   * in L1. Rows are summed in order. Without `count`, bin counts are left at zero (the caller
   * copies them from the root's): a fifth fewer memory operations per row and feature.
   */
  const buildUnit = (
    s: GbdtState,
    h: Float64Array,
    b0: number,
    f0: number,
    nfeat: number,
    table: Uint32Array,
    rows: Uint32Array | null,
    start: number,
    end: number,
    count: boolean,
  ): void => {
    const { n, gh } = s;
    const words = table.subarray((f0 >> 2) * n, ((f0 >> 2) + 1) * n);
    if (nfeat < 4) {
      // The last group, short of four features: rare and small, one general loop.
      for (let p = start; p < end; p++) {
        const w = words[rows === null ? p : rows[p]!]!;
        for (let j = 0; j < nfeat; j++) {
          const k = b0 + j * STRIDE + ((w >>> (8 * j)) & 255) * 3;
          h[k] = h[k]! + gh[2 * p]!;
          h[k + 1] = h[k + 1]! + gh[2 * p + 1]!;
          if (count) h[k + 2] = h[k + 2]! + 1;
        }
      }
      return;
    }
    const b1 = b0 + STRIDE;
    const b2 = b1 + STRIDE;
    const b3 = b2 + STRIDE;
    // Copies of the loop so none has a per-row branch.
    if (!count && rows === null) {
      for (let i = start; i < end; i++) {
        const g = gh[2 * i]!;
        const hh = gh[2 * i + 1]!;
        const w = words[i]!;
        let k = b0 + (w & 255) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        k = b1 + ((w >>> 8) & 255) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        k = b2 + ((w >>> 16) & 255) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        k = b3 + (w >>> 24) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
      }
    } else if (rows === null) {
      for (let i = start; i < end; i++) {
        const g = gh[2 * i]!;
        const hh = gh[2 * i + 1]!;
        const w = words[i]!;
        let k = b0 + (w & 255) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        h[k + 2] = h[k + 2]! + 1;
        k = b1 + ((w >>> 8) & 255) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        h[k + 2] = h[k + 2]! + 1;
        k = b2 + ((w >>> 16) & 255) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        h[k + 2] = h[k + 2]! + 1;
        k = b3 + (w >>> 24) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        h[k + 2] = h[k + 2]! + 1;
      }
    } else {
      for (let p = start; p < end; p++) {
        const i = rows[p]!;
        const g = gh[2 * p]!;
        const hh = gh[2 * p + 1]!;
        const w = words[i]!;
        let k = b0 + (w & 255) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        h[k + 2] = h[k + 2]! + 1;
        k = b1 + ((w >>> 8) & 255) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        h[k + 2] = h[k + 2]! + 1;
        k = b2 + ((w >>> 16) & 255) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        h[k + 2] = h[k + 2]! + 1;
        k = b3 + (w >>> 24) * 3;
        h[k] = h[k]! + g;
        h[k + 1] = h[k + 1]! + hh;
        h[k + 2] = h[k + 2]! + 1;
      }
    }
  };

  /**
   * Adds the partial histograms of a node's later row blocks (`blockHist`, block 1 on) into
   * feature f's histogram in the slot, in block order, so the sums do not depend on which
   * thread built which block.
   */
  const combineBlocks = (s: GbdtState, h: Float64Array, base: number, f: number, blocks: number): void => {
    const bh = s.blockHist;
    const width = s.nb[f]! * 3;
    for (let b = 1; b < blocks; b++) {
      const src = ((b - 1) * s.nf + f) * STRIDE;
      for (let k = 0; k < width; k++) h[base + k] = h[base + k]! + bh[src + k]!;
    }
  };

  /** Feature f's bin counts from `counts` (256 per feature) into a histogram at `base`. */
  const copyCounts = (counts: Float64Array, f: number, h: Float64Array, base: number): void => {
    for (let b = 0; b < 256; b++) h[base + b * 3 + 2] = counts[f * 256 + b]!;
  };

  const noSplit = (s: GbdtState, o: number): void => {
    s.out[o] = -1;
  };

  return {
    /** Learns one column's thresholds (from the staged column and sample) and writes its bin codes. */
    bin: (st, a, index) => {
      const s = st as unknown as GbdtState;
      const args = a as unknown as BinArgs;
      const f = args.features[index] ?? -1;
      if (f < 0) return;
      const n = s.n;
      const col = args.staged ? s.stage.subarray(index * n, (index + 1) * n) : s.x[f]!;
      let sample: Float64Array;
      if (args.sampled) {
        const idx = s.sample.subarray(index * args.sampleSize, (index + 1) * args.sampleSize);
        sample = new Float64Array(args.sampleSize);
        for (let i = 0; i < sample.length; i++) sample[i] = col[idx[i]!]!;
      } else {
        sample = Float64Array.from(col);
      }
      const t = fitThresholds(sample, args.maxBins);
      const thr = s.thr.subarray(f * THRESHOLDS, f * THRESHOLDS + t.length);
      thr.set(t);
      s.nb[f] = t.length + 1;
      // Bin code = number of thresholds below x: a branchless search over 256 slots padded
      // with +Infinity (a mispredicted branch per level cost 4x as much).
      const pad = new Float64Array(256).fill(Number.POSITIVE_INFINITY);
      pad.set(t);
      const out = s.bins;
      const off = (f >> 2) * 4 * n + (f & 3);
      const codes = s.cols.subarray(f * n, (f + 1) * n);
      for (let i = 0; i < n; i++) {
        const x = col[i]!;
        let lo = 0;
        lo += 128 * +(pad[lo + 127]! < x);
        lo += 64 * +(pad[lo + 63]! < x);
        lo += 32 * +(pad[lo + 31]! < x);
        lo += 16 * +(pad[lo + 15]! < x);
        lo += 8 * +(pad[lo + 7]! < x);
        lo += 4 * +(pad[lo + 3]! < x);
        lo += 2 * +(pad[lo + 1]! < x);
        lo += +(pad[lo]! < x);
        out[off + 4 * i] = lo;
        codes[i] = lo;
      }
    },

    /**
     * Gradients and hessians of the current raw scores, the loss of those scores (`withLoss`),
     * per-block sums, and resets `rows` to the identity for the next tree (so position i of
     * `gh` holds row i again).
     */
    grad: (st, a, index, threads) => {
      const s = st as unknown as GbdtState;
      const { binary, withLoss } = a as unknown as { binary: boolean; withLoss: boolean };
      const { n, raw, y, gh, rows, blocks } = s;
      const nBlocks = Math.ceil(n / BLOCK);
      for (let blk = index; blk < nBlocks; blk += threads) {
        const end = Math.min(n, (blk + 1) * BLOCK);
        let loss = 0;
        let sg = 0;
        let sh = 0;
        for (let i = blk * BLOCK; i < end; i++) {
          const r = raw[i]!;
          const yi = y[i]!;
          let g: number;
          let hh: number;
          if (binary) {
            // One exp serves the probability and the stable log-loss.
            const e = Math.exp(-Math.abs(r));
            const p = r >= 0 ? 1 / (1 + e) : e / (1 + e);
            // The loss (a log1p per row) only when someone reads it.
            if (withLoss) loss += Math.max(yi === 1 ? -r : r, 0) + Math.log1p(e);
            g = p - yi;
            hh = p * (1 - p);
            if (hh < 1e-16) hh = 1e-16;
          } else {
            g = r - yi;
            hh = 1;
            loss += 0.5 * g * g;
          }
          g = Math.fround(g);
          hh = Math.fround(hh);
          gh[2 * i] = g;
          gh[2 * i + 1] = hh;
          sg += g;
          sh += hh;
          rows[i] = i;
        }
        blocks[blk * 3] = loss;
        blocks[blk * 3 + 1] = sg;
        blocks[blk * 3 + 2] = sh;
      }
    },

    /**
     * A node's histograms, split into units of (row block, feature group) over the threads:
     * block 0 goes to the node's slot, block b > 0 to `blockHist` (combined in block order by
     * `rootSplit` / `childSplit`). Block b is the node's rows b·size, ... in lane order, the
     * size fixed by the data set and the node's row count (`blockRows`), so the partial sums
     * do not depend on the thread count, and a large node keeps every thread busy even when
     * the features are few. `root`: the node's positions are its rows; `small`: its words are
     * in `words` (see SMALL_NODE).
     */
    hist: (st, a, index, threads) => {
      const s = st as unknown as GbdtState;
      const { slot, lo, hi, root, small, count } = a as unknown as {
        slot: number;
        root: boolean;
        small: boolean;
        count: boolean;
      } & Segments;
      // The root's positions are its rows; a small node's words are in `words` (SMALL_NODE).
      const table = small ? s.words : s.bins32;
      const rows = root || small ? null : s.rows;
      let total = 0;
      for (let l = 0; l < lo.length; l++) total += hi[l]! - lo[l]!;
      const hb = blockRows(s, total);
      const blocks = blocksOf(s, total);
      const groups = Math.ceil(s.nf / 4);
      const units = blocks * groups;
      const from = Math.floor((index * units) / threads);
      const to = Math.floor(((index + 1) * units) / threads);
      for (let u = from; u < to; u++) {
        const b = Math.floor(u / groups);
        const f0 = (u % groups) * 4;
        const nfeat = Math.min(4, s.nf - f0);
        let h: Float64Array;
        let base: number;
        if (b === 0) [h, base] = slotBase(s, slot, f0);
        else [h, base] = [s.blockHist, ((b - 1) * s.nf + f0) * STRIDE];
        h.fill(0, base, base + nfeat * STRIDE);
        // The block's rows, lane by lane: node positions [b·hb, (b + 1)·hb).
        const first = b * hb;
        const last = Math.min(total, first + hb);
        let at = 0;
        for (let l = 0; l < lo.length && at < last; l++) {
          const len = hi[l]! - lo[l]!;
          const p0 = Math.max(first, at);
          const p1 = Math.min(last, at + len);
          if (p1 > p0) {
            const start = lo[l]! + p0 - at;
            const end = lo[l]! + p1 - at;
            buildUnit(s, h, base, f0, nfeat, table, rows, start, end, count);
          }
          at += len;
        }
      }
    },

    /**
     * After `hist` on the root: its histogram per feature (blocks combined; bin counts copied
     * when `countsKnown`, else recorded for later roots) and its best split per feature.
     */
    rootSplit: (st, a, index, threads) => {
      const s = st as unknown as GbdtState;
      const { slot, node, countsKnown } = a as unknown as {
        slot: number;
        node: NodeSums | null;
        countsKnown: boolean;
      };
      const blocks = blocksOf(s, s.n);
      const lo = Math.floor((index * s.nf) / threads);
      const hi = Math.floor(((index + 1) * s.nf) / threads);
      for (let f = lo; f < hi; f++) {
        const [h, base] = slotBase(s, slot, f);
        combineBlocks(s, h, base, f, blocks);
        if (countsKnown) copyCounts(s.rootCounts, f, h, base);
        else for (let b = 0; b < 256; b++) s.rootCounts[f * 256 + b] = h[base + b * 3 + 2]!;
        if (node) findSplit(s, h, base, s.nb[f]!, node, f * FIELDS);
        else noSplit(s, f * FIELDS);
      }
    },

    /**
     * After `hist` on the smaller child: its histogram per feature, the larger child's as the
     * parent's minus it (in the parent's slot), and both children's best split per feature.
     */
    childSplit: (st, a, index, threads) => {
      const s = st as unknown as GbdtState;
      const args = a as unknown as {
        parent: number;
        small: number;
        smallSums: NodeSums;
        smallCan: boolean;
        bigSums: NodeSums;
        bigCan: boolean;
      };
      const nf = s.nf;
      const blocks = blocksOf(s, args.smallSums.count);
      const lo = Math.floor((index * nf) / threads);
      const hi = Math.floor(((index + 1) * nf) / threads);
      for (let f = lo; f < hi; f++) {
        const [hs, bs] = slotBase(s, args.small, f);
        combineBlocks(s, hs, bs, f, blocks);
        const [hp, bp] = slotBase(s, args.parent, f);
        const nb = s.nb[f]!;
        for (let k = 0; k < nb * 3; k++) hp[bp + k] = hp[bp + k]! - hs[bs + k]!;
        if (args.smallCan) findSplit(s, hs, bs, nb, args.smallSums, f * FIELDS);
        else noSplit(s, f * FIELDS);
        if (args.bigCan) findSplit(s, hp, bp, nb, args.bigSums, (nf + f) * FIELDS);
        else noSplit(s, (nf + f) * FIELDS);
      }
    },

    /**
     * Stable partition of a node's rows (and their `gh`) by feature <= bin, lane by lane (lanes
     * spread over the threads): in each lane, left rows first, each side in its old order, and
     * the lane's left end into `mids`. Keeping each node's rows ascending keeps the histogram
     * pass's reads moving forward through memory. A lane is one thread's: nothing to merge.
     * Bin words (see SMALL_NODE): a `small` node's move with its rows; a large node's child
     * that is small (`gatherLeft`, `gatherRight`) gets its own gathered from the table.
     */
    partition: (st, a, index, threads) => {
      const s = st as unknown as GbdtState;
      const { lo, hi, feature, bin, small, gatherLeft, gatherRight } = a as unknown as Segments & {
        feature: number;
        bin: number;
        small: boolean;
        gatherLeft: boolean;
        gatherRight: boolean;
      };
      const { n, rows, scratch, gh2, ghScratch2, mids, side, words, wordScratch, bins32 } = s;
      const groups = Math.ceil(s.nf / 4);
      const from = Math.floor((index * lo.length) / threads);
      const to = Math.floor(((index + 1) * lo.length) / threads);
      for (let l = from; l < to; l++) {
        const start = lo[l]!;
        const end = hi[l]!;
        let w = start;
        let r = start;
        // Branchless: the row is written to both sides and only one cursor moves (which side
        // a row takes is a coin flip to the branch predictor; a branch here cost 3x as much).
        if (small) {
          const key = words.subarray((feature >> 2) * n, ((feature >> 2) + 1) * n);
          const shift = 8 * (feature & 3);
          for (let p = start; p < end; p++) {
            const row = rows[p]!;
            const pair = gh2[p]!;
            const left = +(((key[p]! >>> shift) & 255) <= bin);
            side[p] = left;
            rows[w] = row;
            gh2[w] = pair;
            scratch[r] = row;
            ghScratch2[r] = pair;
            w += left;
            r += 1 - left;
          }
        } else {
          // The feature's byte column: n bytes, mostly in L2, where its group's words are 4n.
          const col = s.cols.subarray(feature * n, (feature + 1) * n);
          for (let p = start; p < end; p++) {
            const row = rows[p]!;
            const pair = gh2[p]!;
            const left = +(col[row]! <= bin);
            rows[w] = row;
            gh2[w] = pair;
            scratch[r] = row;
            ghScratch2[r] = pair;
            w += left;
            r += 1 - left;
          }
        }
        rows.set(scratch.subarray(start, r), w);
        gh2.set(ghScratch2.subarray(start, r), w);
        mids[l] = w;
        if (small) {
          // Every group's words the same way (the sides are recorded).
          const wl = moveFor(groups)(words, wordScratch, side, n, start, end);
          for (let j = 0; j < groups; j++) {
            words.set(wordScratch.subarray(j * n + start, j * n + start + end - wl), j * n + wl);
          }
        } else if (gatherLeft || gatherRight) {
          gatherFor(groups)(words, bins32, rows, n, gatherLeft ? start : w, gatherRight ? end : w);
        }
      }
    },

    /**
     * Adds each leaf's value to the raw score of the rows it holds, lanes spread over the
     * threads (`leaves`: per leaf its value, then lo and hi per lane).
     */
    apply: (st, a, index, threads) => {
      const s = st as unknown as GbdtState;
      const leaves = (a as unknown as { leaves: number[] }).leaves;
      const { raw, rows, lanes } = s;
      const from = Math.floor((index * lanes) / threads);
      const to = Math.floor(((index + 1) * lanes) / threads);
      for (let at = 0; at < leaves.length; at += 1 + 2 * lanes) {
        const v = leaves[at]!;
        for (let l = from; l < to; l++) {
          const end = leaves[at + 1 + lanes + l]!;
          for (let p = leaves[at + 1 + l]!; p < end; p++) raw[rows[p]!] = raw[rows[p]!]! + v;
        }
      }
    },
  };
}
