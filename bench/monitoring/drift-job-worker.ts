import { readFileSync } from 'node:fs';
import { runDriftJob } from '../../lambdas/monitoring/job/drift-job';
import { readWindow } from '../../lambdas/monitoring/log/log-store';
import type { BaselineProfile } from '../../lambdas/monitoring/profile/baseline-profile';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import type { ObjectStore } from '../../lambdas/platform/object-store';
import { peakRssMiB } from '../harness';

/**
 * One measured pass over a cached window (bench/monitoring/window-cache.ts), in a process of
 * its own so its peak RSS is its own: `job` runs the scheduled drift job against the baseline
 * profile (JSON, as the job reads it from the run's artifacts); `baseline` reads the same files
 * into columns, sorts each and computes the KS statistic against the baseline rows already
 * sorted (Float64 columns in a file).
 *
 *   tsx drift-job-worker.ts job <window root> <now> <profile.json> <report dir>
 *   tsx drift-job-worker.ts baseline <window root> <now> <columns.f64> <rows>
 */
export interface WorkerResult {
  readonly rows: number;
  readonly seconds: number;
  /** User + system CPU of the pass (all threads of the process). */
  readonly cpuSeconds: number;
  /** Peak RSS of the whole process, startup included. */
  readonly peakRssMiB: number;
  /** Something the pass computed, so nothing is optimized away. */
  readonly check: number;
}

export const MODEL = 'bench-model';
export const FEATURES = 20;
export const BASELINE_ROWS = 200_000;
const names = Array.from({ length: FEATURES }, (_, j) => `f${j}`);
const DAY = 86_400_000;

/** The prediction log read from the cache; reports and pointers written elsewhere, so reruns start alike. */
function splitStore(windowRoot: string, reportRoot: string): ObjectStore {
  const log = new FsObjectStore(windowRoot);
  const out = new FsObjectStore(reportRoot);
  const pick = (key: string) => (key.startsWith('predictions/') ? log : out);
  return {
    put: (b, k, body, o) => out.put(b, k, body, o),
    get: (b, k) => pick(k).get(b, k),
    head: (b, k) => pick(k).head(b, k),
    list: (b, p) => pick(p).list(b, p),
    delete: (b, k) => out.delete(b, k),
    uri: (b, k) => pick(k).uri(b, k),
  };
}

async function job(windowRoot: string, now: number, profileFile: string, reportRoot: string) {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as BaselineProfile;
  const [result] = await runDriftJob(
    {
      store: splitStore(windowRoot, reportRoot),
      bucket: 'monitoring',
      profiles: { get: async () => profile },
      publisher: { publish: async () => undefined },
      emit: () => undefined,
      now: () => now,
    },
    { models: [MODEL], windowHours: 24, driftPsi: 0.2 },
  );
  if (!result?.report) throw new Error(`the job made no report: ${result?.error}`);
  return { rows: result.rows, check: result.report.summary.drifted };
}

/** The floor: the same reader, 20 Float64 columns, sort each, KS by a merge. */
async function readSortAndKs(windowRoot: string, now: number, columnsFile: string, rows: number) {
  const bytes = readFileSync(columnsFile);
  const all = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const per = all.length / FEATURES;
  const baseline = Array.from({ length: FEATURES }, (_, j) => all.subarray(j * per, (j + 1) * per));
  const cols = Array.from({ length: FEATURES }, () => new Float64Array(rows));
  let i = 0;
  for await (const row of readWindow(new FsObjectStore(windowRoot), 'monitoring', MODEL, now - DAY, now)) {
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
  return { rows: i, check: sum };
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// Run only as the forked worker, not when the bench imports its constants.
if (process.send && process.argv[1]?.endsWith('drift-job-worker.ts')) {
  const [mode, windowRoot, nowText, file, extra] = process.argv.slice(2) as string[];
  const now = Number(nowText);
  const t0 = performance.now();
  const c0 = cpu();
  const r =
    mode === 'job'
      ? await job(windowRoot!, now, file!, extra!)
      : await readSortAndKs(windowRoot!, now, file!, Number(extra));
  const result: WorkerResult = {
    ...r,
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: cpu() - c0,
    peakRssMiB: peakRssMiB(),
  };
  process.send(result, () => process.exit(0));
}
