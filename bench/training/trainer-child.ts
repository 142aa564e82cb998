/**
 * One fit of a built-in trainer, as the benchmark measures it: this file is bundled and
 * minified by esbuild with the settings of the Lambda functions (training.bench.ts builds
 * it), so the code timed is the code a trial runs, in a process of its own whose peak RSS is
 * the trainer's alone.
 *
 * Usage: node trainer.mjs <dir> <rows> <testRows> <features> <logistic|gbdt> <threads>
 * <dir> holds x_cols.f64 and x_test_cols.f64 (column-major float64), y_train.f64, y_test.f64.
 * Prints one JSON line: wall and CPU seconds of the fit, test AUC, iterations, peak RSS, and
 * the involuntary context switches during the fit (another process took one of our cores:
 * with several threads, every barrier then waits for the descheduled one).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { DesignMatrix } from '../../lambdas/training/design/design-matrix';
import { auc } from '../../lambdas/training/evaluation/metrics';
import { DEFAULT_GBDT_PARAMS, predictGbdt, trainGbdt } from '../../lambdas/training/gbdt/gbdt';
import {
  DEFAULT_LOGISTIC_PARAMS,
  predictLogistic,
  trainLogistic,
} from '../../lambdas/training/logistic/logistic-regression';
import { sharedFloat64 } from '../../lambdas/training/parallel/shared-memory';

const [dir, rowsArg, testRowsArg, featuresArg, algorithm, threadsArg] = process.argv.slice(2) as string[];
const rows = Number(rowsArg);
const testRows = Number(testRowsArg);
const features = Number(featuresArg);
const threads = Number(threadsArg);

/** A file's doubles in shared memory, where a trial's prepared design matrix is (prepare.ts). */
function floats(file: string): Float64Array {
  const fd = openSync(join(dir as string, file), 'r');
  try {
    const out = sharedFloat64(fstatSync(fd).size / 8);
    const bytes = new Uint8Array(out.buffer);
    for (let at = 0; at < bytes.length; ) at += readSync(fd, bytes, at, bytes.length - at, at);
    return out;
  } finally {
    closeSync(fd);
  }
}

function matrix(file: string, n: number): DesignMatrix {
  const all = floats(file);
  const columns = Array.from({ length: features }, (_, j) => all.subarray(j * n, (j + 1) * n));
  return { names: columns.map((_, j) => `f${j}`), columns, rows: n };
}

const X = matrix('x_cols.f64', rows);
const y = floats('y_train.f64');
const testX = matrix('x_test_cols.f64', testRows);
const testY = floats('y_test.f64');

/** Fits the trainer, timing the fit alone; then scores the test rows. */
function trainAndScore(): {
  seconds: number;
  cpu: NodeJS.CpuUsage;
  switches: number;
  scores: Float64Array;
  iterations: number;
} {
  const switches0 = process.resourceUsage().involuntaryContextSwitches;
  const t = performance.now();
  const c = process.cpuUsage();
  const done = () => ({
    seconds: (performance.now() - t) / 1000,
    cpu: process.cpuUsage(c),
    switches: process.resourceUsage().involuntaryContextSwitches - switches0,
  });
  if (algorithm === 'gbdt') {
    const model = trainGbdt(X, y, 'binary', { ...DEFAULT_GBDT_PARAMS, threads });
    return { ...done(), scores: predictGbdt(model, testX), iterations: model.trees.length };
  }
  const model = trainLogistic(X, y, { ...DEFAULT_LOGISTIC_PARAMS, threads });
  return { ...done(), scores: predictLogistic(model, testX), iterations: model.iterations };
}

const { seconds, cpu, switches, scores, iterations } = trainAndScore();
process.stdout.write(
  `${JSON.stringify({
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    involuntarySwitches: switches,
    auc: auc(testY, scores),
    iterations,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
