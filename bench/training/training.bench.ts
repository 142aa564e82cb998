import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { DEFAULT_GBDT_PARAMS } from '../../lambdas/training/gbdt/gbdt';
import { defaultThreads } from '../../lambdas/training/parallel/sync-pool';
import type { BenchMeasurement, Benchmark } from '../harness';
import { syntheticBinary } from './synthetic';

interface SklearnResult {
  version: string;
  logistic: { seconds: number; cpu_seconds: number; auc: number; iterations: number };
  gbdt: { seconds: number; cpu_seconds: number; auc: number; trees: number };
  peak_rss_mib: number;
}

/** A Python that imports scikit-learn (Debian's python3-sklearn lives under /usr/bin), or undefined. */
function findSklearnPython(): string | undefined {
  const candidates = [process.env.MLOPS_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(
    (c): c is string => !!c,
  );
  return candidates.find((py) => spawnSync(py, ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0);
}

/** Row-major float64 bytes of a column-major table (numpy's default layout). */
function rowMajor(columns: readonly Float64Array[], rows: number): Uint8Array {
  const out = new Float64Array(rows * columns.length);
  for (let j = 0; j < columns.length; j++) {
    const c = columns[j]!;
    for (let i = 0; i < rows; i++) out[i * columns.length + j] = c[i]!;
  }
  return new Uint8Array(out.buffer);
}

/** Load average, as a multiple of the cores, above which the goal is read from CPU seconds. */
const OVERSUBSCRIBED = 1.5;

const seconds = (t0: number) => (performance.now() - t0) / 1000;

interface ChildFit {
  seconds: number;
  cpuSeconds: number;
  auc: number;
  iterations: number;
  peakRssMiB: number;
}

/** Column-major float64 bytes of a table. */
function columnMajor(columns: readonly Float64Array[]): Uint8Array {
  const rows = columns[0]?.length ?? 0;
  const out = new Float64Array(rows * columns.length);
  columns.forEach((c, j) => {
    out.set(c, j * rows);
  });
  return new Uint8Array(out.buffer);
}

/**
 * Bundles trainer-child.ts as the Lambda functions are bundled (lib/private/platform-function.ts:
 * esbuild, ESM, minified; target node20, the local Node), so the benchmark times the code a
 * trial runs rather than tsx's on-the-fly transform of the sources.
 */
async function bundleTrainer(workDir: string): Promise<string> {
  const outfile = join(workDir, 'trainer.mjs');
  await build({
    entryPoints: [new URL('./trainer-child.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    outfile,
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'silent',
  });
  return outfile;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const runs = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');

/**
 * Both trainers on 1,000,000 rows × 20 features (100,000 with --quick), 100 boosting rounds
 * (31 leaves, 255 bins, learning rate 0.1, no early stopping), against scikit-learn's
 * HistGradientBoostingClassifier and StandardScaler + LogisticRegression on the same data in
 * the same run, when a Python with scikit-learn is found (Debian: `apt-get install
 * python3-sklearn`; or MLOPS_BENCH_PYTHON). Goals: at most 1.5× scikit-learn's fit time, and
 * test AUC no more than 0.005 below it. Ours and scikit-learn alternate, twice in a full
 * run, and the median is kept (the runs are in `extra`), since other work shares the cores.
 * Each of our fits runs as a Lambda trial runs it: bundled and minified by esbuild
 * (trainer-child.ts), in a process of its own, whose peak RSS is reported.
 *
 * Fit time is compared twice: wall seconds with every thread, and CPU seconds on one thread
 * each (the per-core cost). The 1.5× goal is checked on wall time, or on the one-thread CPU
 * ratio when the machine is oversubscribed (1-minute load average above OVERSUBSCRIBED × the
 * cores at any point of the run): wall time then measures the other work as much as ours
 * (scikit-learn's OpenMP threads spin while they wait for a core), CPU time much less.
 *
 * Without scikit-learn, times are reported against one plain logistic-gradient pass over
 * the data (rows/s), the baseline that is always there; peak RSS is reported either way.
 */
export default (async (ctx): Promise<BenchMeasurement[]> => {
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const testRows = ctx.quick ? 20_000 : 100_000;
  const features = 20;
  const rounds = DEFAULT_GBDT_PARAMS.maxIterations;
  const repeats = ctx.quick ? 1 : 2;
  const threads = defaultThreads();
  const cores = availableParallelism();
  const loads: number[] = [];
  const sampleLoad = () => loads.push(loadavg()[0]!);
  sampleLoad();
  ctx.progress(`generating ${rows} × ${features} (+ ${testRows} test rows)`);
  const { X, y } = syntheticBinary(rows, features, 1);
  const test = syntheticBinary(testRows, features, 2);

  // Our trainers run bundled, in a child process per fit; they read the table from files.
  writeFileSync(join(ctx.workDir, 'x_cols.f64'), columnMajor(X.columns));
  writeFileSync(join(ctx.workDir, 'x_test_cols.f64'), columnMajor(test.X.columns));
  writeFileSync(join(ctx.workDir, 'y_train.f64'), new Uint8Array(y.buffer));
  writeFileSync(join(ctx.workDir, 'y_test.f64'), new Uint8Array(test.y.buffer));
  const trainer = await bundleTrainer(ctx.workDir);
  const oursRun = (algorithm: 'logistic' | 'gbdt', threadCount: number): ChildFit => {
    const r = spawnSync(
      process.execPath,
      [
        trainer,
        ctx.workDir,
        String(rows),
        String(testRows),
        String(features),
        algorithm,
        String(threadCount),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    if (r.status !== 0) throw new Error(`our ${algorithm} trainer failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as ChildFit;
  };

  const python = findSklearnPython();
  let sklearnRun: ((threads: number) => SklearnResult) | undefined;
  if (python) {
    writeFileSync(join(ctx.workDir, 'x_train.f64'), rowMajor(X.columns, rows));
    writeFileSync(join(ctx.workDir, 'x_test.f64'), rowMajor(test.X.columns, testRows));
    const script = new URL('./sklearn_reference.py', import.meta.url).pathname;
    sklearnRun = (threads) => {
      const r = spawnSync(
        python,
        [script, ctx.workDir, String(rows), String(testRows), String(features), String(rounds)],
        { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
      );
      if (r.status !== 0) throw new Error(`scikit-learn reference failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as SklearnResult;
    };
  } else {
    ctx.progress('scikit-learn not found (apt-get install python3-sklearn): reporting our times alone');
  }

  const ours = { logistic: [] as number[], gbdt: [] as number[] };
  const theirs = { logistic: [] as number[], gbdt: [] as number[] };
  let sk: SklearnResult | undefined;
  let logisticAuc = 0;
  let gbdtAuc = 0;
  let logisticIterations = 0;
  let rssLogistic = 0;
  let rssGbdt = 0;
  for (let r = 0; r < repeats; r++) {
    sampleLoad();
    if (sklearnRun) {
      ctx.progress(`scikit-learn ${r + 1}/${repeats}`);
      sk = sklearnRun(threads);
      theirs.logistic.push(sk.logistic.seconds);
      theirs.gbdt.push(sk.gbdt.seconds);
      ctx.progress(
        `scikit-learn: logistic ${sk.logistic.seconds.toFixed(2)} s, gbdt ${sk.gbdt.seconds.toFixed(2)} s`,
      );
    }
    const logistic = oursRun('logistic', threads);
    ours.logistic.push(logistic.seconds);
    rssLogistic = Math.max(rssLogistic, logistic.peakRssMiB);
    logisticIterations = logistic.iterations;
    logisticAuc = logistic.auc;
    const gbdt = oursRun('gbdt', threads);
    ours.gbdt.push(gbdt.seconds);
    rssGbdt = Math.max(rssGbdt, gbdt.peakRssMiB);
    gbdtAuc = gbdt.auc;
    ctx.progress(
      `ours (${threads} threads): logistic ${logistic.seconds.toFixed(2)} s, gbdt ${gbdt.seconds.toFixed(2)} s`,
    );
  }
  // One thread each, in CPU seconds: the per-core comparison, which holds up better than wall
  // time when other work shares the cores; and our speed-up from threads. Alternating with
  // scikit-learn, `repeats` times; the median is kept.
  const oursCpu = { logistic: [] as number[], gbdt: [] as number[], gbdtWall: [] as number[] };
  const theirsCpu = { logistic: [] as number[], gbdt: [] as number[] };
  for (let r = 0; r < repeats; r++) {
    sampleLoad();
    ctx.progress(`one thread each (per-core cost and scaling) ${r + 1}/${repeats}`);
    const skOne = sklearnRun?.(1);
    if (skOne) {
      theirsCpu.logistic.push(skOne.logistic.cpu_seconds);
      theirsCpu.gbdt.push(skOne.gbdt.cpu_seconds);
    }
    const gbdt = oursRun('gbdt', 1);
    oursCpu.gbdt.push(gbdt.cpuSeconds);
    oursCpu.gbdtWall.push(gbdt.seconds);
    oursCpu.logistic.push(oursRun('logistic', 1).cpuSeconds);
  }
  sampleLoad();
  const gbdtOneThread = median(oursCpu.gbdtWall);
  const load = Math.max(...loads);
  const oversubscribed = load > OVERSUBSCRIBED * cores;
  const machine = { cores, maxLoadAverage: Number(load.toFixed(1)), oversubscribed: String(oversubscribed) };
  const wallGoal = oversubscribed ? {} : { ratioAtMost: 1.5 };
  const cpuGoal = oversubscribed ? { ratioAtMost: 1.5 } : {};

  // The always-available baseline: one logistic-gradient pass over every row and column.
  const w = new Float64Array(features).fill(0.01);
  const margin = new Float64Array(rows);
  const t = performance.now();
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
      w[j] = s;
    }
  }
  const passRowsPerSec = (rows * passes) / seconds(t);

  const logisticSec = median(ours.logistic);
  const gbdtSec = median(ours.gbdt);
  const common = { rows, features, threads };
  const out: BenchMeasurement[] = [
    {
      id: 'training.logistic.rows_per_s',
      ours: rows / logisticSec,
      baseline: passRowsPerSec,
      unit: 'rows/s',
      goal: { ratioAtLeast: 1 / 200 },
      extra: { ...common, seconds: logisticSec, iterations: logisticIterations, peakRssMiB: rssLogistic },
    },
    {
      id: 'training.gbdt.rows_per_s',
      ours: rows / gbdtSec,
      baseline: passRowsPerSec,
      unit: 'rows/s',
      goal: { ratioAtLeast: 1 / 1000 },
      extra: { ...common, seconds: gbdtSec, trees: rounds, peakRssMiB: rssGbdt },
    },
    {
      // Speed-up over one thread, measured in the same run: feeds docs/training.md's Lambda table.
      id: 'training.gbdt.threads_speedup',
      ours: gbdtOneThread / gbdtSec,
      baseline: 1,
      unit: '×',
      goal: {},
      extra: { threads, oneThreadSeconds: gbdtOneThread, seconds: gbdtSec },
    },
  ];
  if (theirsCpu.gbdt.length > 0) {
    out.push(
      {
        id: 'training.logistic.vs_sklearn.cpu_seconds_one_thread',
        ours: median(oursCpu.logistic),
        baseline: median(theirsCpu.logistic),
        unit: 'cpu s',
        goal: cpuGoal,
        extra: {
          rows,
          features,
          ...machine,
          oursRuns: runs(oursCpu.logistic),
          baselineRuns: runs(theirsCpu.logistic),
        },
      },
      {
        id: 'training.gbdt.vs_sklearn.cpu_seconds_one_thread',
        ours: median(oursCpu.gbdt),
        baseline: median(theirsCpu.gbdt),
        unit: 'cpu s',
        goal: cpuGoal,
        extra: {
          rows,
          features,
          ...machine,
          oursRuns: runs(oursCpu.gbdt),
          baselineRuns: runs(theirsCpu.gbdt),
        },
      },
    );
  }
  if (sk) {
    const skExtra = { sklearn: sk.version, sklearnPeakRssMiB: sk.peak_rss_mib };
    out.push(
      {
        id: 'training.logistic.vs_sklearn.seconds',
        ours: logisticSec,
        baseline: median(theirs.logistic),
        unit: 's',
        goal: wallGoal,
        extra: {
          ...common,
          ...machine,
          ...skExtra,
          oursRuns: runs(ours.logistic),
          baselineRuns: runs(theirs.logistic),
          iterations: logisticIterations,
          sklearnIterations: sk.logistic.iterations,
          peakRssMiB: rssLogistic,
        },
      },
      {
        id: 'training.gbdt.vs_sklearn.seconds',
        ours: gbdtSec,
        baseline: median(theirs.gbdt),
        unit: 's',
        goal: wallGoal,
        extra: {
          ...common,
          ...machine,
          ...skExtra,
          oursRuns: runs(ours.gbdt),
          baselineRuns: runs(theirs.gbdt),
          trees: rounds,
          peakRssMiB: rssGbdt,
        },
      },
      // AUC on the test rows: ours may be at most 0.005 below scikit-learn's (the goal is that, as a ratio).
      {
        id: 'training.logistic.vs_sklearn.auc',
        ours: logisticAuc,
        baseline: sk.logistic.auc,
        unit: 'AUC',
        goal: { ratioAtLeast: (sk.logistic.auc - 0.005) / sk.logistic.auc },
        extra: { testRows, difference: logisticAuc - sk.logistic.auc },
      },
      {
        id: 'training.gbdt.vs_sklearn.auc',
        ours: gbdtAuc,
        baseline: sk.gbdt.auc,
        unit: 'AUC',
        goal: { ratioAtLeast: (sk.gbdt.auc - 0.005) / sk.gbdt.auc },
        extra: { testRows, difference: gbdtAuc - sk.gbdt.auc },
      },
    );
  }
  return out;
}) satisfies Benchmark;
