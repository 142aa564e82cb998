import { join } from 'node:path';
import { type DriftJobDeps, runDriftJob } from '../../lambdas/monitoring/job/drift-job';
import { readWindow, writeBatch } from '../../lambdas/monitoring/log/log-store';
import type { LoggedPrediction } from '../../lambdas/monitoring/log/record';
import { buildBaselineProfile } from '../../lambdas/monitoring/profile/baseline-profile';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { type BenchMeasurement, type Benchmark, peakRssMiB } from '../harness';

const FEATURES = 20;
const MODEL = 'bench-model';
/** Rows per stored file, about what one CloudWatch Logs delivery (≤ 1 MB of lines) carries. */
const ROWS_PER_FILE = 5000;
const names = Array.from({ length: FEATURES }, (_, j) => `f${j}`);

/** xorshift32 uniforms → approximately normal (sum of 4), feature j shifted by `shift`·j. */
function generator(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return () => (next() + next() + next() + next() - 2) * 1.7320508;
}

/** Stores `rows` rows of logged traffic (100 rows per log line, as serving writes) in the log layout. */
async function storeWindow(store: FsObjectStore, rows: number, shift: number, now: number): Promise<void> {
  const normal = generator(7);
  let batch = 0;
  for (let done = 0; done < rows; done += ROWS_PER_FILE) {
    const records: LoggedPrediction[] = [];
    for (let r = done; r < Math.min(rows, done + ROWS_PER_FILE); r += 100) {
      const n = Math.min(100, rows - r);
      const inputs: Record<string, number[]> = {};
      for (let j = 0; j < FEATURES; j++) {
        inputs[names[j]!] = Array.from({ length: n }, () => Math.round((normal() + shift * j) * 1e6) / 1e6);
      }
      records.push({
        requestId: `r${r}`,
        model: MODEL,
        version: '1',
        variant: '1',
        api: 'v1',
        timestamp: now - 1_800_000 + (r % 1_000_000),
        status: 200,
        latencyMs: 1,
        rows: n,
        inputs,
        predictions: Array.from({ length: n }, () => 1 / (1 + Math.exp(-normal()))),
        extra: {},
      });
    }
    await writeBatch(store, 'monitoring', records, `b${String(batch++).padStart(8, '0')}`);
  }
}

/** The baseline: read the same window, sort each column and compute only the KS statistic by a merge. */
async function readSortAndKs(store: FsObjectStore, rows: number, baseline: Float64Array[], now: number) {
  const cols = Array.from({ length: FEATURES }, () => new Float64Array(rows));
  let i = 0;
  for await (const row of readWindow(store, 'monitoring', MODEL, now - 86_400_000, now)) {
    for (let j = 0; j < FEATURES; j++) cols[j]![i] = row.inputs[names[j]!] as number;
    i++;
  }
  let sum = 0;
  for (let j = 0; j < FEATURES; j++) {
    const a = baseline[j]!;
    const b = cols[j]!.subarray(0, i).sort();
    let x = 0;
    let y = 0;
    let d = 0;
    while (x < a.length && y < b.length) {
      const v = Math.min(a[x]!, b[y]!);
      while (x < a.length && a[x] === v) x++;
      while (y < b.length && b[y] === v) y++;
      d = Math.max(d, Math.abs(x / a.length - y / b.length));
    }
    sum += d;
  }
  return sum;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/**
 * The scheduled drift job as it runs (lambdas/monitoring/job/drift-job.ts): 1,000,000 logged
 * rows × 20 features (100,000 with --quick) stored in the log's layout (gzipped NDJSON files
 * of 5,000 rows) and a baseline profile of 200,000 test rows; the job reads the window,
 * computes every statistic against the profile's sketch, writes the report and the metrics.
 * The baseline reads the same files into columns, sorts each and computes the KS statistic
 * by a merge against the baseline rows already sorted. Goal: at most 1.5× its time. Then the
 * job's peak RSS over a 10,000,000-row window (1,000,000 with --quick; generated first, so
 * the process's peak is the job's and the generation's): goal under 1 GiB.
 */
export default (async (ctx): Promise<BenchMeasurement[]> => {
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const bigRows = ctx.quick ? 1_000_000 : 10_000_000;
  const now = Date.now();
  const normal = generator(3);
  const baselineRows = 200_000;
  const baseline = Array.from({ length: FEATURES }, () =>
    Float64Array.from({ length: baselineRows }, normal),
  );
  const profile = buildBaselineProfile(
    datasetOf(Object.fromEntries(names.map((n, j) => [n, baseline[j]!]))),
    names.map((name) => ({ name, type: 'numeric' as const })),
    Float64Array.from({ length: baselineRows }, () => 1 / (1 + Math.exp(-normal()))),
    'binary',
  );
  for (const b of baseline) b.sort();
  const deps = (store: FsObjectStore): DriftJobDeps => ({
    store,
    bucket: 'monitoring',
    profiles: { get: async () => profile },
    publisher: { publish: async () => undefined },
    emit: () => undefined,
    now: () => now,
  });
  const options = { models: [MODEL], windowHours: 24, driftPsi: 0.2 };

  ctx.progress(`storing a ${bigRows}-row window`);
  const big = new FsObjectStore(join(ctx.workDir, 'big'));
  await storeWindow(big, bigRows, 0.01, now);
  ctx.progress(`drift job over ${bigRows} rows`);
  const t0 = performance.now();
  const [bigResult] = await runDriftJob(deps(big), options);
  const bigSeconds = (performance.now() - t0) / 1000;
  const bigPeak = peakRssMiB();
  if (bigResult?.rows !== bigRows) throw new Error(`the job read ${bigResult?.rows} rows, not ${bigRows}`);

  ctx.progress(`storing a ${rows}-row window`);
  const store = new FsObjectStore(join(ctx.workDir, 'window'));
  await storeWindow(store, rows, 0.01, now);
  const ours: number[] = [];
  const base: number[] = [];
  for (let r = 0; r < 3; r++) {
    let t = performance.now();
    await readSortAndKs(store, rows, baseline, now);
    base.push((performance.now() - t) / 1000);
    t = performance.now();
    const [result] = await runDriftJob(deps(store), options);
    ours.push((performance.now() - t) / 1000);
    if (result?.rows !== rows) throw new Error(`the job read ${result?.rows} rows, not ${rows}`);
    ctx.progress(`run ${r + 1}: job ${ours[r]!.toFixed(2)} s, read + sort + KS ${base[r]!.toFixed(2)} s`);
  }
  return [
    {
      id: `monitoring.drift_job.${rows / 1000}k_x${FEATURES}.seconds`,
      ours: median(ours),
      baseline: median(base),
      unit: 's',
      goal: { ratioAtMost: 1.5 },
      extra: {
        ourRuns: ours.map((x) => x.toFixed(2)).join(' '),
        baselineRuns: base.map((x) => x.toFixed(2)).join(' '),
      },
    },
    {
      id: `monitoring.drift_job.${bigRows / 1_000_000}M_x${FEATURES}.peak_rss`,
      ours: bigPeak,
      baseline: 1024,
      unit: 'MiB',
      goal: { ratioAtMost: 1 },
      extra: { seconds: Number(bigSeconds.toFixed(1)), rows: bigRows },
    },
  ];
}) satisfies Benchmark;
