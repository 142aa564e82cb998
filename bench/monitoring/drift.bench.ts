import {
  DEFAULT_SKETCH,
  NumericAccumulator,
  type NumericGrid,
  type NumericSummary,
} from '../../lambdas/monitoring/drift/accumulators';
import { compareFeature, gridOf } from '../../lambdas/monitoring/drift/compare';
import { DriftConfigSchema } from '../../lambdas/monitoring/drift/config';
import { type BenchMeasurement, type Benchmark, peakRssMiB } from '../harness';

const FEATURES = 20;
const config = DriftConfigSchema.parse({});

/** xorshift32 uniforms → approximately normal (sum of 4), feature j shifted by j·0.01. */
function fillColumn(out: Float64Array, seed: number, shift: number): void {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  for (let i = 0; i < out.length; i++) out[i] = (next() + next() + next() + next() - 2) * 1.7320508 + shift;
}

function columns(rows: number, seed: number, shifted: boolean): Float64Array[] {
  return Array.from({ length: FEATURES }, (_, j) => {
    const c = new Float64Array(rows);
    fillColumn(c, seed * 1000 + j + 1, shifted ? j * 0.01 : 0);
    return c;
  });
}

/** The baseline: sort both columns and compute the KS statistic by a merge, nothing else. */
function sortAndKs(base: Float64Array[], cur: Float64Array[]): number {
  let sum = 0;
  for (let j = 0; j < FEATURES; j++) {
    const a = base[j]!.slice().sort();
    const b = cur[j]!.slice().sort();
    let i = 0;
    let k = 0;
    let d = 0;
    while (i < a.length && k < b.length) {
      const v = Math.min(a[i]!, b[k]!);
      while (i < a.length && a[i] === v) i++;
      while (k < b.length && b[k] === v) k++;
      d = Math.max(d, Math.abs(i / a.length - k / b.length));
    }
    sum += d;
  }
  return sum;
}

/** Ours: stream every column into its accumulator, then every statistic and verdict. */
function allStatistics(base: Float64Array[], cur: Float64Array[]): number {
  let sum = 0;
  for (let j = 0; j < FEATURES; j++) {
    const a = new NumericAccumulator(DEFAULT_SKETCH);
    a.addMany(base[j]!);
    const bs = a.finish();
    const c = new NumericAccumulator(DEFAULT_SKETCH, () => gridOf(bs, DEFAULT_SKETCH.gridBins));
    c.addMany(cur[j]!);
    const f = compareFeature(`f${j}`, bs, c.finish(), config);
    sum += f.test.score ?? 0;
  }
  return sum;
}

/** A window of `rows` rows generated in chunks and never held whole, against a 1M-row baseline. */
function streamed(rows: number, baselineRows: number): { seconds: number; peakMiB: number } {
  const t0 = performance.now();
  const base: NumericSummary[] = [];
  const chunk = new Float64Array(65_536);
  for (let j = 0; j < FEATURES; j++) {
    const a = new NumericAccumulator(DEFAULT_SKETCH);
    for (let done = 0; done < baselineRows; done += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, baselineRows - done));
      fillColumn(part, j * 7919 + done + 1, 0);
      a.addMany(part);
    }
    base.push(a.finish());
  }
  const grids: NumericGrid[] = base.map((b) => gridOf(b, DEFAULT_SKETCH.gridBins));
  const cur = grids.map((g) => new NumericAccumulator(DEFAULT_SKETCH, () => g));
  for (let done = 0; done < rows; done += chunk.length) {
    const n = Math.min(chunk.length, rows - done);
    for (let j = 0; j < FEATURES; j++) {
      const part = chunk.subarray(0, n);
      fillColumn(part, j * 104729 + done + 3, j * 0.01);
      cur[j]!.addMany(part);
    }
  }
  for (let j = 0; j < FEATURES; j++) compareFeature(`f${j}`, base[j]!, cur[j]!.finish(), config);
  return { seconds: (performance.now() - t0) / 1000, peakMiB: peakRssMiB() };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/**
 * The drift computation over 1,000,000 rows × 20 features (100,000 with --quick), baseline
 * and current both in memory, against a baseline that only sorts each column and computes
 * the KS statistic: ours computes every statistic (PSI, KS and its p-value, Wasserstein,
 * missing rates, verdicts). Goal: at most 1.5× its time, wall and CPU; the two alternate
 * three times and the medians are kept. Then peak RSS while a 10,000,000-row window (1,000,000 with --quick)
 * is generated on the fly and streamed through the accumulators (grid sketch past 1M values)
 * against a 1,000,000-row baseline: goal under 1 GiB. The streamed run goes first, so the
 * process's peak RSS is its own.
 */
export default (async (ctx): Promise<BenchMeasurement[]> => {
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const streamRows = ctx.quick ? 1_000_000 : 10_000_000;
  ctx.progress(`streaming ${streamRows} rows × ${FEATURES} features`);
  const stream = streamed(streamRows, ctx.quick ? 100_000 : 1_000_000);
  ctx.progress(`generating ${rows} × ${FEATURES} (baseline and current)`);
  const base = columns(rows, 1, false);
  const cur = columns(rows, 2, true);
  const ours: number[] = [];
  const baseline: number[] = [];
  const oursCpu: number[] = [];
  const baselineCpu: number[] = [];
  // CPU seconds too: on a shared machine they move less than wall time.
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  for (let r = 0; r < 3; r++) {
    let t0 = performance.now();
    let c0 = cpu();
    sortAndKs(base, cur);
    baseline.push((performance.now() - t0) / 1000);
    baselineCpu.push(cpu() - c0);
    t0 = performance.now();
    c0 = cpu();
    allStatistics(base, cur);
    ours.push((performance.now() - t0) / 1000);
    oursCpu.push(cpu() - c0);
    ctx.progress(
      `run ${r + 1}: ours ${ours[r]!.toFixed(2)} s (cpu ${oursCpu[r]!.toFixed(2)}), sort + KS ${baseline[r]!.toFixed(2)} s (cpu ${baselineCpu[r]!.toFixed(2)})`,
    );
  }
  const runs = {
    ourRuns: ours.map((x) => x.toFixed(2)).join(' '),
    baselineRuns: baseline.map((x) => x.toFixed(2)).join(' '),
    ourCpu: oursCpu.map((x) => x.toFixed(2)).join(' '),
    baselineCpu: baselineCpu.map((x) => x.toFixed(2)).join(' '),
  };
  return [
    {
      id: `monitoring.drift.${rows / 1000}k_x${FEATURES}.seconds`,
      ours: median(ours),
      baseline: median(baseline),
      unit: 's',
      goal: { ratioAtMost: 1.5 },
      extra: { ...runs, peakRssMiB: Math.round(peakRssMiB()) },
    },
    {
      id: `monitoring.drift.${rows / 1000}k_x${FEATURES}.cpu_seconds`,
      ours: median(oursCpu),
      baseline: median(baselineCpu),
      unit: 's',
      goal: { ratioAtMost: 1.5 },
      extra: runs,
    },
    {
      id: `monitoring.drift.streamed_${streamRows / 1_000_000}M_x${FEATURES}.peak_rss`,
      ours: stream.peakMiB,
      baseline: 1024,
      unit: 'MiB',
      goal: { ratioAtMost: 1 },
      extra: { seconds: Number(stream.seconds.toFixed(1)), rows: streamRows },
    },
  ];
}) satisfies Benchmark;
