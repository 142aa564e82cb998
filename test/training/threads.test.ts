import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import { ALGORITHM_OPTIONS, parseAlgorithmParams } from '../../lambdas/training/algorithm-params';
import { datasetOf } from '../../lambdas/training/data/dataset';
import type { DesignMatrix } from '../../lambdas/training/design/design-matrix';
import {
  DEFAULT_GBDT_PARAMS,
  type GbdtModel,
  type GbdtTask,
  trainGbdt,
} from '../../lambdas/training/gbdt/gbdt';
import { DEFAULT_LOGISTIC_PARAMS, trainLogistic } from '../../lambdas/training/logistic/logistic-regression';
import { inSharedMemory, shareFloat64 } from '../../lambdas/training/parallel/shared-memory';
import { defaultThreads, SyncPool, WorkerPoolError } from '../../lambdas/training/parallel/sync-pool';
import { createRng } from '../../lambdas/training/random';
import { prepareTraining } from '../../lambdas/training/trial/prepare';

/**
 * A table whose columns give the trees different work: many distinct values (quantile bins),
 * few distinct values (midpoint bins), a constant, heavy ties, and an interaction in the label.
 */
function table(
  rows: number,
  features: number,
  seed: number,
  task: GbdtTask,
): { X: DesignMatrix; y: Float64Array } {
  const rng = createRng(seed);
  const columns = Array.from({ length: features }, (_, j) => {
    const c = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      if (j % 5 === 1) c[i] = rng.int(7);
      else if (j % 5 === 2) c[i] = 3;
      else if (j % 5 === 3) c[i] = Math.round(rng.normal() * 2) / 2;
      else c[i] = rng.normal() * (j + 1);
    }
    return c;
  });
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const z = columns[0]![i]! + 0.5 * columns[1]![i]! * (columns[3]![i]! > 0 ? 1 : -1) + 0.1 * rng.normal();
    y[i] = task === 'binary' ? (rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0) : z;
  }
  return { X: { names: columns.map((_, j) => `f${j}`), columns, rows }, y };
}

/** Everything a model is made of, as plain arrays, for an exact comparison. */
function snapshot(m: GbdtModel) {
  return {
    baseScore: m.baseScore,
    gain: [...m.gain],
    trees: m.trees.map((t) => ({
      feature: [...t.feature],
      threshold: [...t.threshold],
      left: [...t.left],
      right: [...t.right],
      value: [...t.value],
    })),
  };
}

describe('training on several threads gives the same model as on one', () => {
  it.each([
    // 7 features on 3 threads: each thread's range is under four features, one thread runs groups of four.
    ['binary', 6000, 7, 3, 25],
    ['regression', 6000, 7, 3, 25],
    // 25 features on 2 threads: groups of four on both, with a remainder.
    ['binary', 6000, 25, 2, 25],
    // Nodes of 65,536 rows and more are partitioned on every thread.
    ['binary', 150_000, 5, 3, 4],
    // Five lanes of the row partition over two threads (a lane is one thread's); nodes under
    // 1/8 of the rows carry their bin words (gathered from the table, then moved with their
    // rows, on both threads from 16,384 rows), larger ones gather them by row number.
    ['binary', 300_000, 6, 2, 3],
  ] as const)(
    'gbdt %s, %i rows, %i features, %i threads: identical trees, gains and losses',
    (task, rows, features, threads, rounds) => {
      const { X, y } = table(rows, features, 11, task);
      const params = { ...DEFAULT_GBDT_PARAMS, maxIterations: rounds, maxLeafNodes: 15, minSamplesLeaf: 5 };
      const losses = (t: number) => {
        const out: number[] = [];
        const model = trainGbdt(X, y, task, { ...params, threads: t }, undefined, (p) =>
          out.push(p.trainLoss),
        );
        return { model: snapshot(model), out };
      };
      const one = losses(1);
      const many = losses(threads);
      expect(one.model.trees).toHaveLength(rounds);
      expect(one.model.trees.some((t) => t.feature.filter((f) => f >= 0).length >= 10)).toBe(true);
      expect(many).toEqual(one);
    },
  );

  it('gbdt with early stopping keeps the same trees on one and four threads', () => {
    const { X, y } = table(5000, 9, 3, 'binary');
    const val = table(1500, 9, 4, 'binary');
    const params = { ...DEFAULT_GBDT_PARAMS, maxIterations: 200, nIterNoChange: 5 };
    const one = trainGbdt(X, y, 'binary', { ...params, threads: 1 }, val);
    const four = trainGbdt(X, y, 'binary', { ...params, threads: 4 }, val);
    expect(one.trees.length).toBeLessThan(200);
    expect(snapshot(four)).toEqual(snapshot(one));
  });

  // Histograms read gradients (single precision) moved along with their rows by each partition, and every root
  // after the first copies its bin counts from the first: recomputed here from the rows
  // themselves, each leaf's value and row count must come out the same.
  it.each([1, 3])(
    'gbdt on %i thread(s): every leaf is -rate × Σg / Σh of the training rows it holds, with at least min_samples_leaf rows, in every round',
    (threads) => {
      // Over 65,536 rows so the first splits are partitioned on every thread.
      const { X, y } = table(80_000, 6, 21, 'binary');
      const params = {
        ...DEFAULT_GBDT_PARAMS,
        maxIterations: 4,
        maxLeafNodes: 12,
        minSamplesLeaf: 40,
        threads,
      };
      const model = trainGbdt(X, y, 'binary', params);
      const raw = new Float64Array(X.rows).fill(model.baseScore);
      for (const tree of model.trees) {
        const sums = new Map<number, { g: number; h: number; count: number }>();
        for (let i = 0; i < X.rows; i++) {
          let node = 0;
          while (tree.feature[node]! >= 0) {
            const f = tree.feature[node]!;
            node = X.columns[f]![i]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
          }
          // The trainer's probability, and its gradients kept in single precision (as scikit-learn's).
          const e = Math.exp(-Math.abs(raw[i]!));
          const p = raw[i]! >= 0 ? 1 / (1 + e) : e / (1 + e);
          const leaf = sums.get(node) ?? { g: 0, h: 0, count: 0 };
          leaf.g += Math.fround(p - y[i]!);
          leaf.h += Math.fround(p * (1 - p));
          leaf.count++;
          sums.set(node, leaf);
          raw[i] = raw[i]! + tree.value[node]!;
        }
        expect(sums.size).toBe(params.maxLeafNodes);
        for (const [node, leaf] of sums) {
          expect(leaf.count).toBeGreaterThanOrEqual(params.minSamplesLeaf);
          const expected = (-params.learningRate * leaf.g) / leaf.h;
          expect(Math.abs(tree.value[node]! - expected)).toBeLessThan(1e-9 * Math.max(1, Math.abs(expected)));
        }
      }
    },
  );

  it('logistic regression on one thread reads the caller columns in place and leaves them unchanged', () => {
    const { X, y } = table(5000, 6, 8, 'binary');
    const before = X.columns.map((c) => Float64Array.from(c));
    const one = trainLogistic(X, y, { ...DEFAULT_LOGISTIC_PARAMS, threads: 1 });
    expect(X.columns.map((c) => [...c])).toEqual(before.map((c) => [...c]));
    expect(one.iterations).toBeGreaterThan(3);
  });

  it("a trial's design matrix is in shared memory: read in place, the same models as from ordinary arrays", () => {
    const rng = createRng(21);
    const n = 4000;
    const spend = new Float64Array(n);
    const plan: (string | null)[] = [];
    const label: string[] = [];
    for (let i = 0; i < n; i++) {
      spend[i] = i % 9 === 0 ? Number.NaN : rng.normal() * 10;
      plan.push(i % 11 === 0 ? null : ['a', 'b', 'c'][rng.int(3)]!);
      label.push(rng.next() < 1 / (1 + Math.exp(-spend[i]! / 10 || 0)) ? 'yes' : 'no');
    }
    const dataset = datasetOf({ spend, plan, label });
    for (const algorithm of ['logistic', 'gbdt'] as const) {
      // Logistic one-hot encodes `plan` (indicator columns), the GBDT codes it; `spend` is filled.
      const prep = prepareTraining({ dataset, label: 'label', algorithm });
      for (const part of [prep.train, prep.test]) {
        expect(part.X.columns.length).toBeGreaterThanOrEqual(2);
        for (const c of part.X.columns) expect(inSharedMemory(c)).toBe(true);
        expect(inSharedMemory(part.y)).toBe(true);
      }
    }
    // The trainers read shared columns in place (no copy, no staging) and leave them as they were.
    const { X, y } = table(9001, 6, 12, 'binary');
    const Xs: DesignMatrix = { ...X, columns: X.columns.map(shareFloat64) };
    const ys = shareFloat64(y);
    const gbdtParams = { ...DEFAULT_GBDT_PARAMS, maxIterations: 10 };
    const gbdt = trainGbdt(X, y, 'binary', { ...gbdtParams, threads: 1 });
    expect(snapshot(trainGbdt(Xs, ys, 'binary', { ...gbdtParams, threads: 2 }))).toEqual(snapshot(gbdt));
    const logistic = trainLogistic(X, y, { ...DEFAULT_LOGISTIC_PARAMS, threads: 1 });
    const logisticShared = trainLogistic(Xs, ys, { ...DEFAULT_LOGISTIC_PARAMS, threads: 2 });
    expect([...logisticShared.weights]).toEqual([...logistic.weights]);
    expect(logisticShared.intercept).toBe(logistic.intercept);
    expect(Xs.columns.map((c) => [...c])).toEqual(X.columns.map((c) => [...c]));
  });

  it('logistic regression: identical weights and iterations on one and three threads', () => {
    // More rows than one block (2,048), and not a multiple of it.
    const { X, y } = table(9001, 8, 5, 'binary');
    const one = trainLogistic(X, y, { ...DEFAULT_LOGISTIC_PARAMS, threads: 1 });
    const three = trainLogistic(X, y, { ...DEFAULT_LOGISTIC_PARAMS, threads: 3 });
    expect(one.iterations).toBeGreaterThan(3);
    expect([...three.weights]).toEqual([...one.weights]);
    expect(three.intercept).toBe(one.intercept);
    expect(three.iterations).toBe(one.iterations);
  });

  it('the threaded trainer works when bundled and minified by esbuild, as for Lambda', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gbdt-bundle-'));
    const entry = join(dir, 'entry.ts');
    const root = resolve(import.meta.dirname, '../..');
    await writeFile(
      entry,
      `import { trainGbdt, DEFAULT_GBDT_PARAMS } from '${root}/lambdas/training/gbdt/gbdt';
       import { createRng } from '${root}/lambdas/training/random';
       const rng = createRng(1);
       const n = 3000;
       const columns = [0, 1, 2, 3, 4].map(() => Float64Array.from({ length: n }, () => rng.normal()));
       const y = Float64Array.from({ length: n }, (_, i) => (columns[0][i] + columns[1][i] * columns[2][i] > 0 ? 1 : 0));
       const m = trainGbdt({ names: ['a', 'b', 'c', 'd', 'e'], columns, rows: n }, y, 'binary', { ...DEFAULT_GBDT_PARAMS, maxIterations: 10, threads: Number(process.argv[2]) });
       console.log(JSON.stringify(m.trees.map((t) => [...t.value])));`,
    );
    const outfile = join(dir, 'index.mjs');
    // The settings of lib/private/platform-function.ts.
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      minify: true,
      outfile,
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
      mainFields: ['module', 'main'],
      logLevel: 'silent',
    });
    const run = (threads: number) => {
      const r = spawnSync(process.execPath, [outfile, String(threads)], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as number[][];
    };
    const one = run(1);
    expect(one).toHaveLength(10);
    expect(run(3)).toEqual(one);
  });
});

const OUTSIDE = { kernel: () => {} };

describe('the worker pool', () => {
  it('an error thrown in a worker is reported with its message, and the pool can be closed', () => {
    const kernels = () => ({
      check: (_s: Record<string, unknown>, _a: never, index: number) => {
        if (index === 1) throw new Error('kernel broke on thread 1');
      },
    });
    const pool = new SyncPool(kernels, 2);
    try {
      expect(() => pool.run('check', {})).toThrow(WorkerPoolError);
    } finally {
      pool.close();
    }
    const again = new SyncPool(kernels, 2);
    try {
      expect(() => again.run('check', {})).toThrow(/kernel broke on thread 1/);
    } finally {
      again.close();
    }
  });

  it('kernels that reference anything outside their factory fail to start, with the reason', () => {
    // What a bundler renaming a free identifier would cause: the worker cannot build its kernels.
    const kernels = () => ({ outer: OUTSIDE.kernel });
    expect(() => new SyncPool(kernels, 2)).toThrow(/OUTSIDE is not defined/);
  });

  it('kernels see shared arrays written by other threads', () => {
    const kernels = () => ({
      fill: (s: Record<string, unknown>, a: never, index: number, threads: number) => {
        const x = s.x as Int32Array;
        for (let i = index; i < x.length; i += threads) x[i] = i * (a as { k: number }).k;
      },
    });
    const pool = new SyncPool(kernels, 3);
    try {
      const x = new Int32Array(new SharedArrayBuffer(4 * 10));
      pool.share({ x });
      pool.run('fill', { k: 2 });
      expect([...x]).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    } finally {
      pool.close();
    }
  });

  it('on Lambda, the default follows the memory (1,769 MB per vCPU), never above the cores', () => {
    const cores = defaultThreads({});
    expect(defaultThreads({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' })).toBe(1);
    expect(defaultThreads({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1769' })).toBe(1);
    expect(defaultThreads({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '4096' })).toBe(Math.min(cores, 2));
    expect(defaultThreads({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240' })).toBe(Math.min(cores, 6));
  });
});

describe('the threads option', () => {
  it('is accepted by both trainers and rejected outside 1..64 with a 4xx error', () => {
    expect(ALGORITHM_OPTIONS.gbdt).toContain('threads');
    expect(ALGORITHM_OPTIONS.logistic).toContain('threads');
    const parsed = parseAlgorithmParams('gbdt', { threads: '2' });
    expect(parsed.algorithm === 'gbdt' && parsed.params.threads).toBe(2);
    expect(() => parseAlgorithmParams('logistic', { threads: 0 })).toThrow(InvalidParameterError);
    expect(() => parseAlgorithmParams('gbdt', { threads: 1.5 })).toThrow(/Invalid gbdt option 'threads'/);
  });
});
