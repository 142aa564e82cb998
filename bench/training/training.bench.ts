import { DEFAULT_GBDT_PARAMS, trainGbdt } from '../../lambdas/training/gbdt/gbdt';
import { DEFAULT_LOGISTIC_PARAMS, trainLogistic } from '../../lambdas/training/logistic/logistic-regression';
import { type BenchMeasurement, type Benchmark, peakRssMiB } from '../harness';
import { syntheticBinary } from './synthetic';

/**
 * Training throughput on 1,000,000 rows × 20 features (100,000 with --quick), in rows/s of
 * the whole fit. There is no other in-process trainer to race, so the baseline is the cost
 * of touching the data: one logistic-gradient pass over every row and column in a plain loop
 * (rows/s). The ratio therefore reads as "one fit costs 1/ratio data passes"; the goals cap
 * that at 200 passes for L-BFGS logistic regression and 1,000 for 100 boosting rounds.
 */
export default (async (ctx): Promise<BenchMeasurement[]> => {
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const features = 20;
  ctx.progress(`generating ${rows} × ${features}`);
  const { X, y } = syntheticBinary(rows, features, 1);

  const w = new Float64Array(features).fill(0.01);
  const grad = new Float64Array(features);
  const margin = new Float64Array(rows);
  const t0 = performance.now();
  const passes = 3;
  for (let p = 0; p < passes; p++) {
    margin.fill(0);
    for (let j = 0; j < features; j++) {
      const c = X.columns[j]!;
      const wj = w[j]!;
      for (let i = 0; i < rows; i++) margin[i] = margin[i]! + wj * c[i]!;
    }
    for (let i = 0; i < rows; i++) margin[i] = 1 / (1 + Math.exp(-margin[i]!)) - y[i]!;
    for (let j = 0; j < features; j++) {
      const c = X.columns[j]!;
      let s = 0;
      for (let i = 0; i < rows; i++) s += margin[i]! * c[i]!;
      grad[j] = s;
    }
  }
  const passRowsPerSec = (rows * passes) / ((performance.now() - t0) / 1000);
  ctx.progress(`one gradient pass: ${(passRowsPerSec / 1e6).toFixed(1)} M rows/s`);

  ctx.progress('training logistic (L-BFGS)');
  let t = performance.now();
  const logistic = trainLogistic(X, y, DEFAULT_LOGISTIC_PARAMS);
  const logisticSec = (performance.now() - t) / 1000;
  const rssAfterLogistic = peakRssMiB();
  ctx.progress(`logistic: ${logisticSec.toFixed(2)} s, ${logistic.iterations} iterations`);

  ctx.progress('training gbdt (100 rounds, 31 leaves, 255 bins)');
  t = performance.now();
  const gbdt = trainGbdt(X, y, 'binary', DEFAULT_GBDT_PARAMS, undefined, (p) => {
    if (p.iteration % 20 === 0)
      ctx.progress(`gbdt round ${p.iteration}, train loss ${p.trainLoss.toFixed(4)}`);
  });
  const gbdtSec = (performance.now() - t) / 1000;
  ctx.progress(`gbdt: ${gbdtSec.toFixed(2)} s, ${gbdt.trees.length} trees`);

  return [
    {
      id: 'training.logistic.rows_per_s',
      ours: rows / logisticSec,
      baseline: passRowsPerSec,
      unit: 'rows/s',
      goal: { ratioAtLeast: 1 / 200 },
      extra: {
        rows,
        features,
        seconds: logisticSec,
        iterations: logistic.iterations,
        peakRssMiB: rssAfterLogistic,
      },
    },
    {
      id: 'training.gbdt.rows_per_s',
      ours: rows / gbdtSec,
      baseline: passRowsPerSec,
      unit: 'rows/s',
      goal: { ratioAtLeast: 1 / 1000 },
      extra: { rows, features, seconds: gbdtSec, trees: gbdt.trees.length, peakRssMiB: peakRssMiB() },
    },
  ];
}) satisfies Benchmark;
