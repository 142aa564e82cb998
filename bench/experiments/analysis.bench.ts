import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { BenchMeasurement, Benchmark } from '../harness';
import type { WorkerResult } from './analysis-worker';

/**
 * The experiment analysis of 10 million outcome rows (1 million with --quick) from a CSV:
 * the streaming read into per-variant totals plus every statistic, against a bare pass
 * over the same bytes that only sums the value column. Each runs in a fresh process, so
 * its peak RSS is its own; memory stays at one read chunk plus the totals.
 */
export default (async (ctx) => {
  const rows = ctx.quick ? 1_000_000 : 10_000_000;
  const file = join(ctx.workDir, 'outcomes.csv');
  ctx.progress(`writing ${rows.toLocaleString('en-US')} outcome rows`);
  const bytes = await writeOutcomes(file, rows);

  // Alternate the two, best of three each: the machine is shared.
  const ours: WorkerResult[] = [];
  const base: WorkerResult[] = [];
  for (let i = 0; i < 3; i++) {
    base.push(await measure('baseline', file));
    ours.push(await measure('ours', file));
    ctx.progress(
      `round ${i + 1}: analysis ${ours[i]?.seconds.toFixed(2)} s, sum only ${base[i]?.seconds.toFixed(2)} s`,
    );
  }
  for (const r of [...ours, ...base]) {
    if (r.rows !== rows) throw new Error(`a pass counted ${r.rows} rows of ${rows}`);
  }
  if (Math.abs((ours[0] as WorkerResult).check / (base[0] as WorkerResult).check - 1) > 1e-9) {
    throw new Error('the analysis and the summing pass disagree on the value total');
  }
  const best = (rs: WorkerResult[]) => rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const o = best(ours);
  const b = best(base);
  const mib = (bytes / 2 ** 20).toFixed(0);
  const measured: BenchMeasurement[] = [
    {
      id: 'experiments.analysis.10m_rows.seconds',
      ours: o.seconds,
      baseline: b.seconds,
      unit: 's',
      goal: { ratioAtMost: 2.5 },
      extra: {
        rows,
        fileMiB: Number(mib),
        oursRowsPerSecond: Math.round(rows / o.seconds),
        baselineRowsPerSecond: Math.round(rows / b.seconds),
      },
    },
    {
      id: 'experiments.analysis.10m_rows.peak_rss',
      ours: o.peakRssMiB,
      baseline: b.peakRssMiB,
      unit: 'MiB',
      goal: { ratioAtMost: 1.5 },
      extra: { rows, fileMiB: Number(mib) },
    },
  ];
  return measured;
}) satisfies Benchmark;

function measure(mode: 'ours' | 'baseline', file: string): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./analysis-worker.ts', import.meta.url).pathname, [mode, file], {
      stdio: 'inherit',
    });
    let result: WorkerResult | undefined;
    child.on('message', (m) => {
      result = m as WorkerResult;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      result ? resolve(result) : reject(new Error(`${mode} pass exited with code ${code}`)),
    );
  });
}

/** 90/10 split, 10% vs 11% conversion, converted units carry a revenue-like value. */
async function writeOutcomes(file: string, rows: number): Promise<number> {
  const out = createWriteStream(file);
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  let bytes = 0;
  let batch = 'variant,unit_id,converted,value\n';
  for (let i = 0; i < rows; i++) {
    const treated = rand() < 0.1;
    const converted = rand() < (treated ? 0.11 : 0.1);
    const value = converted ? (5 + 60 * rand()).toFixed(2) : '0';
    batch += `${treated ? 'treatment' : 'control'},user-${i},${converted ? 1 : 0},${value}\n`;
    if (batch.length > 1 << 20) {
      bytes += batch.length;
      if (!out.write(batch)) await once(out, 'drain');
      batch = '';
    }
  }
  bytes += batch.length;
  out.end(batch);
  await once(out, 'finish');
  return bytes;
}
