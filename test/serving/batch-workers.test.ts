import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { literal } from '../../lambdas/features/offline/render-sql';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import { scoreFile } from '../../lambdas/serving/batch/score-file';
import type { ServedModel } from '../../lambdas/serving/domain/served-model';
import { createOnnxScorer, type Scorer } from '../../lambdas/serving/inference/session';
import type { ModelSignature } from '../../lambdas/serving/inference/signature';
import { createBatchScorer, createWorkerScorer } from '../../lambdas/serving/inference/worker-scorer';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { createRng } from '../../lambdas/training/random';
import { trainOnnx, trainTiny } from './support';

/** A GBDT over three numbers, `a` trained with gaps (nullable): its features are read packed, one array per row. */
function numericModel(): { onnx: Uint8Array; signature: ModelSignature } {
  const rng = createRng(5);
  const n = 500;
  const a = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? Number.NaN : rng.normal()));
  const b = Float64Array.from({ length: n }, () => rng.normal());
  const c = Float64Array.from({ length: n }, () => rng.normal());
  const y = Float64Array.from(a, (v, i) =>
    (Number.isNaN(v) ? 0.5 : v) + (b[i] as number) - 0.5 * (c[i] as number) > 0 ? 1 : 0,
  );
  return trainOnnx(datasetOf({ a, b, c, t: Float64Array.from({ length: n }, (_, i) => i), y }), 'gbdt', {
    maxIterations: 20,
    earlyStopping: 'false',
  });
}

function served(m: { signature: ModelSignature }, scorer: Scorer): ServedModel {
  return {
    name: 'm',
    version: '1',
    variant: 'batch',
    signature: m.signature,
    scorer,
    sha256: '',
    sizeBytes: 0,
    loadMs: 0,
  };
}

/**
 * Wraps a scorer to count its model calls and the most runs unanswered at once; `corrupt`
 * may replace one call's feeds.
 */
function counting(
  scorer: Scorer,
  corrupt?: (call: number, feeds: Record<string, Tensor>) => Record<string, Tensor>,
): Scorer & { calls: number; maxInFlight: number } {
  let inFlight = 0;
  const c = {
    ...scorer,
    calls: 0,
    maxInFlight: 0,
    run: async (feeds: Record<string, Tensor>, outputs: readonly string[]) => {
      c.calls += 1;
      inFlight += 1;
      c.maxInFlight = Math.max(c.maxInFlight, inFlight);
      try {
        return await scorer.run(corrupt ? corrupt(c.calls, feeds) : feeds, outputs);
      } finally {
        inFlight -= 1;
      }
    },
  };
  return c;
}

let engine: DuckDbEngine;
let work: string;

/** A module's path, or onnxruntime-node's, as a string literal for a script's import. */
const moduleAt = (rel: string) => JSON.stringify(fileURLToPath(new URL(rel, import.meta.url)));
const ORT = JSON.stringify(createRequire(import.meta.url).resolve('onnxruntime-node'));

/**
 * Runs an ES module of these lines in a child process: what only the process shows (its
 * stderr, whether it exits). The timeout is a safety net: a process kept alive by a thread
 * would otherwise hang the suite.
 */
function runScript(name: string, lines: readonly string[]) {
  const script = join(work, name);
  writeFileSync(script, lines.join('\n'));
  return spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: process.cwd(),
    encoding: 'utf8',
    timeout: 120_000,
  });
}
let numeric: { onnx: Uint8Array; signature: ModelSignature };
let input: string;
const ROWS = 20_011;

/** Every row of a written file, bigints as numbers. */
async function rowsOf(path: string): Promise<Record<string, unknown>[]> {
  const reader = path.endsWith('.csv')
    ? `read_csv(${literal(path)}, header = true)`
    : `read_parquet(${literal(path)})`;
  return (await engine.query(`SELECT * FROM ${reader}`)).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mlops-batch-workers-'));
  engine = await DuckDbEngine.create({ threads: 2 });
  numeric = numericModel();
  expect(numeric.signature.tensorInput?.elementType).toBe('double');
  // Values that differ row to row (a row scored out of place shows), `a` missing every 13th row.
  input = join(work, 'rows.parquet');
  await engine.run(
    `COPY (SELECT 'r' || i AS id, CASE WHEN i % 13 = 5 THEN NULL ELSE sin(i) * 2 END AS a, ` +
      `cos(i * 1.7) * 2 AS b, ((i * 37) % 101) / 25.0 - 2 AS c FROM range(${ROWS}) t(i)) ` +
      `TO ${literal(input)} (FORMAT parquet)`,
  );
}, 120_000);
afterAll(() => {
  engine?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('batch scoring on worker threads', () => {
  it('gives every row the calling thread gives it, in input order, one model call per batch', async () => {
    const inline = await createOnnxScorer(numeric.onnx);
    const workers = counting(await createWorkerScorer(numeric.onnx, { workers: 2 }));
    try {
      expect(workers.parallelism).toBe(2);
      const expected = join(work, 'inline.parquet');
      const actual = join(work, 'workers.parquet');
      // 29 batches of 700 rows, straddling DuckDB's 2,048-row chunks.
      await scoreFile(engine, served(numeric, inline), { input, output: expected, batchSize: 700 });
      const r = await scoreFile(engine, served(numeric, workers), { input, output: actual, batchSize: 700 });
      expect(r).toMatchObject({ rows: ROWS, batches: 29 });
      expect(workers.calls).toBe(29);
      // Batches were scored while the next were read: more than one run was unanswered at once.
      expect(workers.maxInFlight).toBeGreaterThan(1);
      const want = await rowsOf(expected);
      const got = await rowsOf(actual);
      expect(got.map((o) => o.id)).toEqual(Array.from({ length: ROWS }, (_, i) => `r${i}`));
      expect(got).toEqual(want);

      // A shard starting mid-batch, with more workers than batches left at the end.
      const shard = join(work, 'shard.parquet');
      const s = await scoreFile(engine, served(numeric, workers), {
        input,
        output: shard,
        batchSize: 1_000,
        range: { offset: 4_321, limit: 2_500 },
      });
      expect(s).toMatchObject({ rows: 2_500, batches: 3 });
      expect(await rowsOf(shard)).toEqual(want.slice(4_321, 6_821));
    } finally {
      await inline.release();
      await workers.release();
    }
  });

  it('feeds a model over a categorical input (feeds built per column) as the calling thread does', async () => {
    const tiny = trainTiny('gbdt', 11);
    const csv = join(work, 'tiny.csv');
    const lines = Array.from(
      { length: 3_000 },
      (_, i) =>
        `k${i},${i % 9 === 4 ? '' : 20 + ((i * 37) % 61) + (i % 3) / 4},${['basic', 'pro', 'team', 'other'][i % 4]}`,
    );
    writeFileSync(csv, `id,spend,plan\n${lines.join('\n')}\n`);
    const inline = await createOnnxScorer(tiny.onnx);
    const workers = await createWorkerScorer(tiny.onnx, { workers: 2 });
    try {
      const expected = join(work, 'tiny-inline.csv');
      const actual = join(work, 'tiny-workers.csv');
      await scoreFile(engine, served(tiny, inline), { input: csv, output: expected, batchSize: 256 });
      await scoreFile(engine, served(tiny, workers), { input: csv, output: actual, batchSize: 256 });
      const got = await rowsOf(actual);
      expect(got.map((o) => o.id)).toEqual(Array.from({ length: 3_000 }, (_, i) => `k${i}`));
      expect(got).toEqual(await rowsOf(expected));
    } finally {
      await inline.release();
      await workers.release();
    }
  });

  it('a run that fails in a worker fails as on the calling thread, and the file run leaves no output', async () => {
    const inline = await createOnnxScorer(numeric.onnx);
    const bare = await createWorkerScorer(numeric.onnx, { workers: 2 });
    // A [3N, 1] tensor for a model that takes [N, 3]: onnxruntime refuses it when it runs.
    const wrong = (feeds: Record<string, Tensor>) =>
      Object.fromEntries(
        Object.entries(feeds).map(([k, t]) => [
          k,
          new Tensor('float64', t.data as Float64Array, [(t.dims[0] as number) * 3, 1]),
        ]),
      );
    const feeds = () => ({ features: new Tensor('float64', new Float64Array(30), [10, 3]) });
    const here = await inline.run(wrong(feeds()), ['probabilities']).then(
      () => undefined,
      (e: Error) => e,
    );
    const there = await bare.run(wrong(feeds()), ['probabilities']).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(here?.message).toMatch(/invalid dimensions/i);
    expect(there).toBeInstanceOf(Error);
    expect(there?.name).toBe(here?.name);
    expect(there?.message).toBe(here?.message);
    // The worker keeps scoring after a failed run.
    const ok = await bare.run(feeds(), ['probabilities']);
    expect(Array.from(ok.probabilities?.data as Float64Array)).toEqual(
      Array.from((await inline.run(feeds(), ['probabilities'])).probabilities?.data as Float64Array),
    );
    await bare.release();

    // The fifth of 29 batches fails while others are in flight.
    const workers = counting(await createWorkerScorer(numeric.onnx, { workers: 2 }), (call, f) =>
      call === 5 ? wrong(f) : f,
    );
    const dir = join(work, 'failed');
    const output = join(dir, 'scores.parquet');
    const err = await scoreFile(engine, served(numeric, workers), { input, output, batchSize: 700 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toBe(here?.message);
    expect(existsSync(output)).toBe(false);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    await workers.release();
    // Released: its threads are stopped and it takes no more runs.
    await expect(workers.run(feeds(), ['probabilities'])).rejects.toThrow(/released/);
    await inline.release();
  });

  it('bytes that do not load are refused as on the calling thread', async () => {
    const bytes = new TextEncoder().encode('not an onnx model');
    const here = await createOnnxScorer(bytes).then(
      () => undefined,
      (e: Error) => e,
    );
    const there = await createWorkerScorer(bytes, { workers: 2 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(here).toBeInstanceOf(InvalidParameterError);
    expect(there).toBeInstanceOf(InvalidParameterError);
    expect(there?.message).toBe(here?.message);
  });

  it('scores on the calling thread, saying why, when a worker cannot load onnxruntime-node', async () => {
    const logged: string[] = [];
    const scorer = await createBatchScorer(numeric.onnx, {
      workers: 2,
      runtime: [join(work, 'no-such-package')],
      log: (m) => logged.push(m),
    });
    try {
      expect(scorer.parallelism).toBeUndefined();
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatch(
        /runs the model on the calling thread: a scoring worker could not load onnxruntime-node: .*no-such-package/,
      );
      const output = join(work, 'fallback.parquet');
      const r = await scoreFile(engine, served(numeric, scorer), { input, output, batchSize: 5_000 });
      expect(r.batches).toBe(5);
      expect(await rowsOf(output)).toEqual(await rowsOf(join(work, 'inline.parquet')));
    } finally {
      await scorer.release();
    }
  });

  it('a failing run is thrown to the caller, and onnxruntime writes no line of its own to stderr', () => {
    const run = runScript('quiet.mts', [
      `import { Tensor } from ${ORT};`,
      `import { batchOfOneOnnx } from ${moduleAt('../../local/story/rollback.ts')};`,
      `import { createOnnxScorer } from ${moduleAt('../../lambdas/serving/inference/session.ts')};`,
      `import { createWorkerScorer } from ${moduleAt('../../lambdas/serving/inference/worker-scorer.ts')};`,
      // A model that answers one row and fails in onnxruntime on two.
      `const bytes = batchOfOneOnnx('features', 3);`,
      `for (const make of [createOnnxScorer, (b: Uint8Array) => createWorkerScorer(b, { workers: 1 })]) {`,
      `  const s = await make(bytes);`,
      `  const one = await s.run({ features: new Tensor('float64', new Float64Array(3), [1, 3]) }, ['probabilities']);`,
      `  console.log('one row', one.probabilities.dims.join('x'));`,
      `  await s.run({ features: new Tensor('float64', new Float64Array(6), [2, 3]) }, ['probabilities']).then(`,
      `    () => console.log('two rows scored'),`,
      `    (e) => console.log('two rows failed:', String(e.message).split(' node')[0]),`,
      `  );`,
      `  await s.release();`,
      `}`,
    ]);
    expect(run.stdout.trim().split('\n')).toEqual([
      'one row 1x2',
      'two rows failed: Non-zero status code returned while running Reshape',
      'one row 1x2',
      'two rows failed: Non-zero status code returned while running Reshape',
    ]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 150_000);

  it('idle workers never keep the process from exiting, even when not released', () => {
    writeFileSync(join(work, 'model.onnx'), numeric.onnx);
    const run = runScript('exit.ts', [
      `import { readFileSync } from 'node:fs';`,
      `import { Tensor } from ${ORT};`,
      `import { createWorkerScorer } from ${moduleAt('../../lambdas/serving/inference/worker-scorer.ts')};`,
      `const bytes = readFileSync(${JSON.stringify(join(work, 'model.onnx'))});`,
      `createWorkerScorer(bytes, { workers: 2 }).then(async (s) => {`,
      `  const out = await s.run({ features: new Tensor('float64', new Float64Array(30), [10, 3]) }, ['probabilities']);`,
      `  console.log('scored', out.probabilities.dims.join('x'));`,
      // Not released: the process must still end once its work is done.
      `});`,
    ]);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('scored 10x2');
    expect(run.status).toBe(0);
  }, 150_000);
});
