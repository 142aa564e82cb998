import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { literal } from '../../lambdas/features/offline/render-sql';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { batchEngine } from '../../lambdas/serving/batch/batch-engine';
import { scoreFile } from '../../lambdas/serving/batch/score-file';
import { loadServedModel } from '../../lambdas/serving/domain/served-model';
import { createBatchScorer } from '../../lambdas/serving/inference/worker-scorer';
import type { ModelVersion } from '../../lambdas/tracking/domain/model';
import { type BenchMeasurement, type Benchmark, peakRssMiB } from '../harness';
import { servingFixture } from './fixture';

const FEATURES = 10;
const TREES = 100;
const BATCH = 10_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Batch scoring rows per second locally: `scoreFile` on a Parquet file (read in batches by
 * DuckDB, feeds built from the signature, one session.run per 10,000 rows, predictions and
 * keys written to Parquet, written aside and renamed) against a bare loop of session.run
 * over the same batches, already in memory as tensors (no reading, no writing). `scoreFile`
 * loads the model as the batch CLI and Lambda do (`createBatchScorer`: a session per worker
 * thread when the process has more than one core); the bare loop keeps one session. Runs
 * alternate; each side's median is reported, with each side's CPU time (the whole process)
 * as extras. Goal: at least 0.8 of the bare loop.
 */
export default (async (ctx) => {
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const repeats = ctx.quick ? 3 : 5;
  ctx.progress(`training a ${TREES}-tree GBDT on ${FEATURES} features`);
  const fx = servingFixture(FEATURES, TREES);

  const store = new FsObjectStore(join(ctx.workDir, 's3'));
  await store.put('artifacts', 'models/m/model.onnx', fx.onnx);
  await store.put('artifacts', 'models/m/signature.json', JSON.stringify(fx.signature));
  const version = {
    name: 'bench',
    version: '1',
    status: 'READY',
    status_message: '',
    source: 's3://artifacts/models/m/model.onnx',
    run_id: '',
  } as ModelVersion;
  const model = await loadServedModel(
    {
      registry: {
        getModel: async () => ({ model: { aliases: {} } as never, rev: 1, production: '1' }),
        getVersion: async () => version,
      },
      runs: { getRun: async () => undefined },
      store,
      bucket: 'artifacts',
      // What the batch CLI and Lambda load models with: worker threads when there are cores.
      createScorer: (bytes) => createBatchScorer(bytes),
      variant: 'bench',
    },
    { name: 'bench', version: '1' },
  );

  ctx.progress(`writing ${rows.toLocaleString('en-US')} rows to Parquet`);
  // The engine the batch CLI and Lambda score with (one DuckDB thread beside the workers).
  const engine = await batchEngine();
  const input = join(ctx.workDir, 'rows.parquet');
  const cols = fx.names.map((f, j) => `((i * 7 + ${j * 13}) % 100) / 25.0 - 2 + (i % 17) / 100.0 AS ${f}`);
  await engine.run(
    `COPY (SELECT i AS user_id, ${cols.join(', ')} FROM range(${rows}) t(i)) TO ${literal(input)} (FORMAT parquet)`,
  );

  // The baseline's batches: the same rows as packed tensors, built before timing.
  const d = fx.signature.inputs.length;
  const all = await engine.query(
    `SELECT ${fx.signature.inputs.map((i) => i.name).join(', ')} FROM read_parquet(${literal(input)})`,
  );
  const tensors: Tensor[] = [];
  for (let from = 0; from < rows; from += BATCH) {
    const n = Math.min(BATCH, rows - from);
    const buf = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const r = all[from + i] as Record<string, number>;
      fx.signature.inputs.forEach((inp, j) => {
        buf[i * d + j] = r[inp.name] as number;
      });
    }
    tensors.push(new Tensor('float64', buf, [n, d]));
  }
  all.length = 0;
  const session = await InferenceSession.create(fx.onnx);
  const inputName = fx.signature.tensorInput?.name as string;
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const c = process.cpuUsage(since);
    return (c.user + c.system) / 1000;
  };
  const oursCpu: number[] = [];
  const bareCpu: number[] = [];
  const bare = async (): Promise<number> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const t of tensors) await session.run({ [inputName]: t }, ['probabilities']);
    const ms = performance.now() - t0;
    bareCpu.push(cpuMs(c0));
    return ms;
  };

  const oursMs: number[] = [];
  const bareMs: number[] = [];
  const output = join(ctx.workDir, 'scores.parquet');
  await bare();
  for (let k = 0; k < repeats; k++) {
    ctx.progress(`run ${k + 1} of ${repeats}`);
    bareMs.push(await bare());
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await scoreFile(engine, model, { input, output, batchSize: BATCH });
    oursMs.push(performance.now() - t0);
    oursCpu.push(cpuMs(c0));
    if (r.rows !== rows) throw new Error(`scored ${r.rows} rows, expected ${rows}`);
    await rm(output, { force: true });
  }
  await session.release();
  await model.scorer.release();
  engine.close();

  const ours = (rows / median(oursMs)) * 1000;
  const baseline = (rows / median(bareMs)) * 1000;
  const m: BenchMeasurement = {
    id: 'serving.batch.rows_per_s',
    ours,
    baseline,
    unit: 'rows/s',
    goal: { ratioAtLeast: 0.8 },
    extra: {
      rows,
      batch: BATCH,
      // Worker threads scoring for `scoreFile` (1: the model runs on the calling thread).
      workers: model.scorer.parallelism ?? 1,
      oursMedianMs: Math.round(median(oursMs)),
      bareMedianMs: Math.round(median(bareMs)),
      // CPU of the whole process (DuckDB's and onnxruntime's threads included): on a loaded
      // machine wall time follows the scheduler; this is what each side costs.
      oursCpuMs: Math.round(median(oursCpu)),
      bareCpuMs: Math.round(median(bareCpu.slice(1))),
      cpuRatio: Number((median(bareCpu.slice(1)) / median(oursCpu)).toFixed(3)),
      peakRssMiB: Math.round(peakRssMiB()),
    },
  };
  return [m];
}) satisfies Benchmark;
