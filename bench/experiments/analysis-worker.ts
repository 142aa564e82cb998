import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { parseAllocation } from '../../lambdas/experiments/allocation';
import { analyzeExperiment } from '../../lambdas/experiments/analysis/analyze';
import { readOutcomeCsv } from '../../lambdas/experiments/analysis/outcome-csv';
import { peakRssMiB } from '../harness';

/**
 * One measured pass over an outcome CSV, in a process of its own so its peak RSS is its
 * own: `ours` runs the whole analysis, `baseline` only sums the value column.
 */
export interface WorkerResult {
  seconds: number;
  rows: number;
  peakRssMiB: number;
  check: number;
}

const HIGH_WATER = 1 << 20;

/** The floor: read the same bytes, split lines, parse and sum the last field. */
async function sumOnly(file: string): Promise<{ rows: number; check: number }> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let rows = -1; // the header
  let sum = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: HIGH_WATER })) {
    const text = pending + decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const comma = text.lastIndexOf(',', nl);
      if (rows >= 0) sum += Number(text.slice(comma + 1, nl));
      rows += 1;
      start = nl + 1;
    }
    pending = text.slice(start);
  }
  return { rows, check: sum };
}

async function analysis(file: string): Promise<{ rows: number; check: number }> {
  const allocation = parseAllocation('control=0.9,treatment=0.1');
  const totals = await readOutcomeCsv(
    createReadStream(file, { highWaterMark: HIGH_WATER }),
    allocation.map((v) => v.name),
    file,
  );
  const report = analyzeExperiment(allocation, totals);
  const rows = report.variants.reduce((s, v) => s + v.units, 0);
  return { rows, check: report.variants.reduce((s, v) => s + (v.value_mean ?? 0) * v.units, 0) };
}

const [mode, file] = process.argv.slice(2) as ['ours' | 'baseline', string];
const t0 = performance.now();
const { rows, check } = mode === 'ours' ? await analysis(file) : await sumOnly(file);
const result: WorkerResult = {
  seconds: (performance.now() - t0) / 1000,
  rows,
  check,
  peakRssMiB: peakRssMiB(),
};
process.send?.(result, () => process.exit(0));
