import { type DriftJobDeps, runDriftJob } from '../../lambdas/monitoring/job/drift-job';
import { readWindow } from '../../lambdas/monitoring/log/log-store';
import { buildBaselineProfile } from '../../lambdas/monitoring/profile/baseline-profile';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { type BenchMeasurement, type Benchmark, peakRssMiB } from '../harness';
import { cachedWindow, generator } from './window-cache';

const FEATURES = 20;
const MODEL = 'bench-model';
const names = Array.from({ length: FEATURES }, (_, j) => `f${j}`);

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
 *
 * The windows are generated once and kept under the OS temp folder (bench/monitoring/window-cache.ts):
 * later runs reuse them, so a rerun measures the job, not the generator. Times are wall and
 * CPU (user + system) seconds of this process: the machine is shared.
 */
export default (async (ctx): Promise<BenchMeasurement[]> => {
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const bigRows = ctx.quick ? 1_000_000 : 10_000_000;
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
  const deps = (store: FsObjectStore, now: number): DriftJobDeps => ({
    store,
    bucket: 'monitoring',
    profiles: { get: async () => profile },
    publisher: { publish: async () => undefined },
    emit: () => undefined,
    now: () => now,
  });
  const options = { models: [MODEL], windowHours: 24, driftPsi: 0.2 };
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };

  ctx.progress(`a ${bigRows}-row window (generated once, then cached)`);
  const bigWindow = cachedWindow({
    model: MODEL,
    rows: bigRows,
    features: FEATURES,
    shift: 0.01,
    progress: ctx.progress,
  });
  ctx.progress(`drift job over ${bigRows} rows`);
  const t0 = performance.now();
  const c0 = cpu();
  const [bigResult] = await runDriftJob(deps(new FsObjectStore(bigWindow.root), bigWindow.now), options);
  const bigSeconds = (performance.now() - t0) / 1000;
  const bigCpu = cpu() - c0;
  const bigPeak = peakRssMiB();
  if (bigResult?.rows !== bigRows) throw new Error(`the job read ${bigResult?.rows} rows, not ${bigRows}`);

  const window = cachedWindow({
    model: MODEL,
    rows,
    features: FEATURES,
    shift: 0.01,
    progress: ctx.progress,
  });
  const store = new FsObjectStore(window.root);
  const now = window.now;
  const ours: number[] = [];
  const base: number[] = [];
  const oursCpu: number[] = [];
  const baseCpu: number[] = [];
  for (let r = 0; r < 3; r++) {
    let t = performance.now();
    let c = cpu();
    await readSortAndKs(store, rows, baseline, now);
    base.push((performance.now() - t) / 1000);
    baseCpu.push(cpu() - c);
    t = performance.now();
    c = cpu();
    const [result] = await runDriftJob(deps(store, now), options);
    ours.push((performance.now() - t) / 1000);
    oursCpu.push(cpu() - c);
    if (result?.rows !== rows) throw new Error(`the job read ${result?.rows} rows, not ${rows}`);
    ctx.progress(
      `run ${r + 1}: job ${ours[r]!.toFixed(2)} s (cpu ${oursCpu[r]!.toFixed(2)}), read + sort + KS ${base[r]!.toFixed(2)} s (cpu ${baseCpu[r]!.toFixed(2)})`,
    );
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
        ourCpu: oursCpu.map((x) => x.toFixed(2)).join(' '),
        baselineCpu: baseCpu.map((x) => x.toFixed(2)).join(' '),
        cpuRatio: Number((median(oursCpu) / median(baseCpu)).toFixed(3)),
        windowGeneratedSeconds: Number(window.seconds.toFixed(1)),
      },
    },
    {
      id: `monitoring.drift_job.${bigRows / 1_000_000}M_x${FEATURES}.peak_rss`,
      ours: bigPeak,
      baseline: 1024,
      unit: 'MiB',
      goal: { ratioAtMost: 1 },
      extra: {
        seconds: Number(bigSeconds.toFixed(1)),
        cpuSeconds: Number(bigCpu.toFixed(1)),
        rows: bigRows,
        windowGeneratedSeconds: Number(bigWindow.seconds.toFixed(1)),
      },
    },
  ];
}) satisfies Benchmark;
