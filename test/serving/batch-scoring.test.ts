import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../bin/cli';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { ingestBatch } from '../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { literal } from '../../lambdas/features/offline/render-sql';
import { buildTrainingSet } from '../../lambdas/features/offline/training-set';
import { batchScore } from '../../lambdas/serving/batch/batch-score';
import { batchScoreLocal, batchScoreRemote, localBatchDeps } from '../../lambdas/serving/batch/cli';
import { rowsToDataset } from '../../lambdas/serving/domain/rows';
import { scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import type { ModelSignature } from '../../lambdas/serving/inference/signature';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { createRng } from '../../lambdas/training/random';
import { startLocalRuntime } from '../../local/runtime';
import { byoModel, type TinyModel, trainOnnx, trainTiny } from './support';

const NAME = `batch-${Date.now().toString(36)}`;
const FEATURED = `${NAME}-fs`;
let runtime: Awaited<ReturnType<typeof startLocalRuntime>>;
let dataDir: string;
let work: string;
let model: TinyModel;
let engine: DuckDbEngine;

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const url = path.startsWith('/') ? `${runtime.url}${path}` : `${runtime.url}/api/2.0/mlflow/${path}`;
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

/** Registers an ONNX model and its signature as version 1 of `name` through the MLflow API. */
async function register(name: string, onnx: Uint8Array, signature: ModelSignature): Promise<void> {
  await call('POST', 'registered-models/create', { name });
  const exp = await call('POST', 'experiments/create', { name: `${name}-exp` });
  const run = (await call('POST', 'runs/create', { experiment_id: exp.json.experiment_id })).json.run;
  const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
  for (const [path, body] of [
    ['model/model.onnx', onnx],
    ['model/signature.json', JSON.stringify(signature)],
    ['model/MLmodel', 'flavors:\n  onnx:\n    data: model.onnx\n'],
  ] as const) {
    const res = await fetch(`${runtime.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(200);
  }
  const v = await call('POST', 'model-versions/create', {
    name,
    source: `runs:/${run.info.run_id}/model`,
    run_id: run.info.run_id,
  });
  expect(v.json.model_version.status).toBe('READY');
}

/** Rows of a written file, bigints as numbers. */
async function rowsOf(path: string): Promise<Record<string, unknown>[]> {
  const reader = path.endsWith('.csv')
    ? `read_csv(${literal(path)}, header = true)`
    : `read_parquet(${literal(path)})`;
  return (await engine.query(`SELECT * FROM ${reader}`)).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
  );
}

/**
 * `n` rows of the tiny model's features with ids: gaps in `spend`, an unseen plan, and
 * values that differ row to row, so a row scored out of order or fed wrongly shows.
 */
function inputRows(n: number): { id: string; spend: number | null; plan: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `u${String(i).padStart(5, '0')}`,
    spend: i % 9 === 4 ? null : 20 + ((i * 37) % 61) + (i % 3) / 4,
    plan: ['basic', 'pro', 'team', 'enterprise'][i % 4] as string,
  }));
}

function writeCsv(path: string, rows: readonly Record<string, unknown>[]): void {
  const cols = Object.keys(rows[0] as object);
  writeFileSync(
    path,
    `${[cols.join(','), ...rows.map((r) => cols.map((c) => r[c] ?? '').join(','))].join('\n')}\n`,
  );
}

async function toParquet(csv: string, parquet: string): Promise<void> {
  await engine.run(
    `COPY (SELECT * REPLACE (CAST(spend AS DOUBLE) AS spend) FROM read_csv(${literal(csv)}, header = true, all_varchar = true)) ` +
      `TO ${literal(parquet)} (FORMAT parquet)`,
  );
}

/** What serving's scoring gives for these rows: the same model, online. */
async function onlineScores(rows: readonly { spend: number | null; plan: string }[]): Promise<number[]> {
  const instances = rows.map((r) => ({ spend: r.spend, plan: r.plan }));
  const out: number[] = [];
  for (let i = 0; i < instances.length; i += 1000) {
    const res = await call('POST', `/v1/models/${NAME}/predict`, { instances: instances.slice(i, i + 1000) });
    expect(res.status).toBe(200);
    out.push(...res.json.predictions);
  }
  return out;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-batch-'));
  work = mkdtempSync(join(tmpdir(), 'mlops-batch-files-'));
  runtime = await startLocalRuntime({
    port: 0,
    dataDir,
    inMemory: true,
    config: { serving: { modelName: NAME } },
  });
  engine = await DuckDbEngine.create({ threads: 2 });
  model = trainTiny('gbdt', 11);
  await register(NAME, model.onnx, model.signature);
  await call('POST', 'registered-models/alias', { name: NAME, alias: 'champion', version: '1' });
  await call('POST', 'model-versions/transition-stage', { name: NAME, version: '1', stage: 'Production' });
  let ready = await call('GET', `/v2/models/${NAME}/ready`);
  for (let i = 0; i < 40 && ready.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 250));
    ready = await call('GET', `/v2/models/${NAME}/ready`);
  }
  expect(ready.status).toBe(200);
  // The runtime synthesizes the stack and starts its engines: minutes on a loaded machine.
}, 300_000);
afterAll(async () => {
  engine?.close();
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('batch scoring on the local runtime', () => {
  it('gives the online predict answer for every row, in input order, CSV in and Parquet out', async () => {
    const rows = inputRows(57);
    const input = join(work, 'rows.csv');
    writeCsv(input, rows);
    const output = join(work, 'scores.parquet');
    // A batch size that does not divide the rows: the last batch is short.
    const r = await batchScoreLocal(runtime, {
      model: NAME,
      alias: 'champion',
      input,
      output,
      batchSize: 10,
    });
    expect(r).toMatchObject({ model: NAME, version: '1', rows: 57, batches: 6 });
    expect(r.columns).toEqual(['id', 'prediction', 'probabilities_0', 'probabilities_1', 'label']);
    const out = await rowsOf(output);
    expect(out.map((o) => o.id)).toEqual(rows.map((x) => x.id));
    const online = await onlineScores(rows);
    expect(out.map((o) => o.prediction)).toEqual(online);
    expect(out.map((o) => o.probabilities_1)).toEqual(online);
    expect(out.map((o) => o.label)).toEqual(online.map((p) => (p > 0.5 ? 1 : 0)));
    // And against scoring outside serving: onnxruntime on the same rows.
    const direct = await scoreOnnx(
      model.onnx,
      model.signature,
      rowsToDataset(
        model.signature,
        rows.map((x) => ({ spend: x.spend, plan: x.plan })),
      ),
    );
    expect(out.map((o) => o.prediction)).toEqual(Array.from(direct));
  });

  it('reads Parquet and writes CSV with the same scores, and numbers rows when the input has no keys', async () => {
    const rows = inputRows(31);
    const csv = join(work, 'keyed.csv');
    writeCsv(csv, rows);
    const parquet = join(work, 'keyed.parquet');
    await toParquet(csv, parquet);
    const fromParquet = join(work, 'from-parquet.csv');
    await batchScoreLocal(runtime, {
      model: NAME,
      version: '1',
      input: parquet,
      output: fromParquet,
      batchSize: 8,
    });
    const fromCsv = join(work, 'from-csv.csv');
    await batchScoreLocal(runtime, { model: NAME, version: '1', input: csv, output: fromCsv });
    expect(await readFile(fromParquet, 'utf8')).toBe(await readFile(fromCsv, 'utf8'));

    const bare = join(work, 'bare.csv');
    writeCsv(
      bare,
      rows.map((x) => ({ spend: x.spend, plan: x.plan })),
    );
    const numbered = join(work, 'numbered.parquet');
    const r = await batchScoreLocal(runtime, {
      model: NAME,
      version: '1',
      input: bare,
      output: numbered,
      batchSize: 8,
    });
    expect(r.columns[0]).toBe('row_number');
    const out = await rowsOf(numbered);
    expect(out.map((o) => o.row_number)).toEqual(rows.map((_, i) => i));
    expect(out.map((o) => o.prediction)).toEqual((await rowsOf(fromCsv)).map((o) => o.prediction));
  });

  it('gives the same output through the Distributed Map workflow as in-process', async () => {
    const rows = inputRows(2_345);
    const input = join(work, 'many.csv');
    writeCsv(input, rows);
    const local = join(work, 'many-local.parquet');
    await batchScoreLocal(runtime, { model: NAME, alias: 'champion', input, output: local, batchSize: 500 });
    const remote = join(work, 'many-remote.parquet');
    let shards = 0;
    const r = await batchScoreRemote(runtime, {
      model: NAME,
      alias: 'champion',
      input,
      output: remote,
      batchSize: 500,
      shardRows: 1_000,
      onShard: () => {
        shards += 1;
      },
    });
    expect(shards).toBe(3);
    expect(r.manifest).toMatchObject({ model: NAME, version: '1', rows: 2_345, format: 'parquet' });
    expect(r.manifest.parts.map((p) => p.rows)).toEqual([1_000, 1_000, 345]);
    expect(r.manifest.columns).toEqual(['id', 'prediction', 'probabilities_0', 'probabilities_1', 'label']);
    expect(await rowsOf(remote)).toEqual(await rowsOf(local));
  });

  it('starts a job through POST /v1/batch-scoring and reports its manifest at GET /v1/batch-scoring/{id}', async () => {
    const rows = inputRows(40);
    const csv = join(work, 'api.csv');
    writeCsv(csv, rows);
    const key = 'batch-scoring/inputs/api-test/rows.csv';
    mkdirFor(join(dataDir, 's3', 'artifacts', key));
    writeFileSync(join(dataDir, 's3', 'artifacts', key), await readFile(csv));
    const start = await call('POST', '/v1/batch-scoring', {
      model: NAME,
      alias: 'champion',
      input: `s3://artifacts/${key}`,
      output: 's3://artifacts/batch-scoring/api-test/out/',
      format: 'csv',
    });
    expect(start.status).toBe(200);
    let status = await call('GET', `/v1/batch-scoring/${start.json.id}`);
    for (let i = 0; i < 120 && status.json.status === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = await call('GET', `/v1/batch-scoring/${start.json.id}`);
    }
    expect(status.json).toMatchObject({ status: 'SUCCEEDED', manifest: { rows: 40, version: '1' } });
    const part = join(dataDir, 's3', 'artifacts', status.json.manifest.parts[0].key);
    const out = await rowsOf(part);
    expect(out.map((o) => o.prediction)).toEqual(await onlineScores(rows));
    expect(existsSync(join(dataDir, 's3', 'artifacts', 'batch-scoring/api-test/out/_manifest.json'))).toBe(
      true,
    );
  });

  it('refuses bad API requests with a 4xx naming what to fix', async () => {
    const base = { model: NAME, input: 's3://artifacts/batch-scoring/inputs/api-test/rows.csv' };
    const out = 's3://artifacts/batch-scoring/api-test/other/';
    const noAlias = await call('POST', '/v1/batch-scoring', { ...base, alias: 'nope', output: out });
    expect(noAlias.status).toBe(404);
    expect(noAlias.json.message).toMatch(/no alias 'nope'/);
    const both = await call('POST', '/v1/batch-scoring', {
      ...base,
      alias: 'champion',
      version: '1',
      output: out,
    });
    expect(both.status).toBe(400);
    const elsewhere = await call('POST', '/v1/batch-scoring', {
      ...base,
      version: '1',
      output: 's3://artifacts/models/',
    });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.json.message).toMatch(/batch-scoring\//);
    const missing = await call('POST', '/v1/batch-scoring', {
      ...base,
      version: '1',
      input: 's3://artifacts/batch-scoring/inputs/none.csv',
      output: out,
    });
    expect(missing.status).toBe(404);
    const unknown = await call('GET', '/v1/batch-scoring/batch-nothing-1');
    expect(unknown.status).toBe(404);
  });

  it('joins entity rows to features point in time through a feature service', async () => {
    const fixtures = join(import.meta.dirname, '..', 'features', 'fixtures');
    const repo = buildRepo({ file: parse(await readFile(join(fixtures, 'pit-definitions.yaml'), 'utf8')) });
    const deps = localBatchDeps(runtime, engine);
    const features = { ...deps.features!, repo: async () => repo };
    for (const [source, file] of [
      ['purchases', 'purchases-a.csv'],
      ['purchases', 'purchases-b.csv'],
      ['profiles', 'profiles.csv'],
      ['risk_scores', 'risk.csv'],
    ] as const) {
      const r = await ingestBatch(
        { repo, engine, store: features.store, bucket: features.bucket },
        { source, file: join(fixtures, file) },
      );
      expect(r.status).not.toBe('quarantined');
    }
    // A model over two of the service's features: a number with gaps and a category.
    const rng = createRng(5);
    const n = 300;
    const amount = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? Number.NaN : rng.next() * 20));
    const tier = Array.from({ length: n }, (_, i) => ['gold', 'silver', 'bronze'][i % 3] as string);
    const y = Float64Array.from(amount, (a, i) =>
      (Number.isNaN(a) ? 5 : a) + (tier[i] === 'gold' ? 8 : 0) > 12 ? 1 : 0,
    );
    const { onnx, signature } = trainOnnx(
      datasetOf({ amount, tier, t: Float64Array.from({ length: n }, (_, i) => i), y }),
      'logistic',
    );
    await register(FEATURED, onnx, signature);

    const entityRows = join(fixtures, 'entity-rows.csv');
    const output = join(work, 'featured.csv');
    const r = await batchScore(
      { ...deps, features },
      { model: FEATURED, version: '1', input: entityRows, output, featureService: 'fraud_v1', batchSize: 2 },
    );
    const out = await rowsOf(output);
    expect(r.columns).toEqual([
      'user_id',
      'event_timestamp',
      'label',
      'prediction',
      'probabilities_0',
      'probabilities_1',
      'label_output',
    ]);
    // Expected: the training set of the same rows, scored by onnxruntime.
    const ts = join(work, 'ts.parquet');
    await buildTrainingSet(
      { repo, engine, store: features.store, bucket: features.bucket },
      { entityRows, featureService: 'fraud_v1', output: ts },
    );
    const joined = await rowsOf(ts);
    const expected = await scoreOnnx(
      onnx,
      signature,
      rowsToDataset(
        signature,
        joined.map((row) => ({
          amount: (row.amount as number | null) ?? null,
          tier: (row.tier as string | null) ?? null,
        })),
      ),
    );
    expect(out.map((o) => o.prediction)).toEqual(Array.from(expected));
    expect(out.map((o) => o.user_id)).toEqual(joined.map((o) => o.user_id));
  });
});

/** A GBDT over two numbers, `gappy` trained with gaps (so nullable) and `whole` without. */
function numericModel(): { onnx: Uint8Array; signature: ModelSignature } {
  const rng = createRng(9);
  const n = 400;
  const gappy = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? Number.NaN : rng.normal()));
  const whole = Float64Array.from({ length: n }, () => rng.normal());
  const y = Float64Array.from(gappy, (g, i) =>
    (Number.isNaN(g) ? 1 : g) + (whole[i] as number) > 0 ? 1 : 0,
  );
  return trainOnnx(datasetOf({ gappy, whole, t: Float64Array.from({ length: n }, (_, i) => i), y }), 'gbdt', {
    maxIterations: 15,
    earlyStopping: 'false',
  });
}

/** onnxruntime on the rows through the online path's feeds, a request's worth of rows at a time. */
async function directScores(
  m: { onnx: Uint8Array; signature: ModelSignature },
  rows: readonly Record<string, number | null>[],
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rows.length; i += 1000) {
    const ds = rowsToDataset(m.signature, rows.slice(i, i + 1000));
    out.push(...(await scoreOnnx(m.onnx, m.signature, ds)));
  }
  return out;
}

describe('models over one numeric tensor: features read as one array per row', () => {
  const NUMERIC = `${NAME}-num`;
  const FLOAT = `${NAME}-float`;
  let numeric: { onnx: Uint8Array; signature: ModelSignature };

  beforeAll(async () => {
    numeric = numericModel();
    expect(numeric.signature.tensorInput?.elementType).toBe('double');
    expect(numeric.signature.inputs.map((i) => [i.name, i.nullable ?? false])).toEqual([
      ['gappy', true],
      ['whole', false],
    ]);
    await register(NUMERIC, numeric.onnx, numeric.signature);
    const byo = byoModel();
    await register(FLOAT, byo.onnx, byo.signature);
  });

  it('gives the answer of onnxruntime for every row, gaps as NaN, across chunks, batches and a shard range', async () => {
    // 5,000 rows: batches of 3,000 straddle DuckDB's 2,048-row chunks; every 7th gappy is missing.
    const rows = Array.from({ length: 5_000 }, (_, i) => ({
      id: i,
      gappy: i % 7 === 3 ? null : Math.sin(i) * 2,
      whole: Math.cos(i * 1.3) * 2,
    }));
    const input = join(work, 'numeric.parquet');
    const csv = join(work, 'numeric.csv');
    writeCsv(csv, rows);
    await engine.run(
      `COPY (SELECT CAST(id AS BIGINT) AS id, CAST(gappy AS DOUBLE) AS gappy, CAST(whole AS DOUBLE) AS whole ` +
        `FROM read_csv(${literal(csv)}, header = true, all_varchar = true)) TO ${literal(input)} (FORMAT parquet)`,
    );
    const expected = await directScores(
      numeric,
      rows.map((r) => ({ gappy: r.gappy, whole: r.whole })),
    );
    const output = join(work, 'numeric-scores.parquet');
    const r = await batchScoreLocal(runtime, {
      model: NUMERIC,
      version: '1',
      input,
      output,
      batchSize: 3_000,
    });
    expect(r).toMatchObject({ rows: 5_000, batches: 2 });
    const out = await rowsOf(output);
    expect(out.map((o) => o.id)).toEqual(rows.map((x) => x.id));
    expect(out.map((o) => o.prediction)).toEqual(expected);

    // A shard's rows (as the Distributed Map's function scores them) start mid-chunk.
    const shard = join(work, 'numeric-shard.parquet');
    await batchScoreLocal(runtime, {
      model: NUMERIC,
      version: '1',
      input,
      output: shard,
      batchSize: 1_000,
      range: { offset: 2_500, limit: 1_700 },
    });
    const part = await rowsOf(shard);
    expect(part.map((o) => o.id)).toEqual(rows.slice(2_500, 4_200).map((x) => x.id));
    expect(part.map((o) => o.prediction)).toEqual(expected.slice(2_500, 4_200));
  });

  it('fills a float tensor from CSV text as online scoring does', async () => {
    const byo = byoModel();
    const rows = Array.from({ length: 300 }, (_, i) => ({
      key: `k${i}`,
      x1: (i % 13) / 4 - 1.5,
      x2: 0.1 * i - 7,
    }));
    const input = join(work, 'float.csv');
    writeCsv(input, rows);
    const output = join(work, 'float-scores.csv');
    await batchScoreLocal(runtime, { model: FLOAT, version: '1', input, output, batchSize: 128 });
    const out = await rowsOf(output);
    expect(out.map((o) => o.key)).toEqual(rows.map((x) => x.key));
    const expected = await directScores(
      byo,
      rows.map((r) => ({ x1: r.x1, x2: r.x2 })),
    );
    expect(out.map((o) => o.prediction)).toEqual(expected);
  });

  it('refuses a missing value in an input the signature does not declare nullable, naming it', async () => {
    const input = join(work, 'numeric-gap.csv');
    writeCsv(input, [
      ...Array.from({ length: 2_100 }, (_, i) => ({ gappy: i / 100, whole: 1 - i / 1000 })),
      { gappy: 1, whole: null },
    ]);
    const output = join(work, 'bad', 'numeric-gap.parquet');
    const err = await batchScoreLocal(runtime, { model: NUMERIC, version: '1', input, output }).then(
      () => undefined,
      (e: Error & { status?: number }) => e,
    );
    expect(err?.status).toBe(400);
    expect(err?.message).toMatch(/Input 'whole' is missing in 1 of 2101 row/);
    expect(existsSync(output)).toBe(false);
  });
});

describe('bad input gives a clear error and writes no output', () => {
  const attempt = async (req: Partial<Parameters<typeof batchScoreLocal>[1]>, name: string) => {
    const output = join(work, 'bad', `${name}.parquet`);
    const err = await batchScoreLocal(runtime, {
      model: NAME,
      version: '1',
      input: join(work, 'ok.csv'),
      output,
      ...req,
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    // Nothing under the output's name, not even a temporary file.
    const left = existsSync(join(work, 'bad')) ? readdirSync(join(work, 'bad')) : [];
    expect(left.filter((f) => f.startsWith(name))).toEqual([]);
    return err as Error & { status?: number };
  };

  beforeAll(() => {
    writeCsv(join(work, 'ok.csv'), inputRows(12));
  });

  it('an unknown model, version or alias', async () => {
    expect((await attempt({ model: 'no-such-model' }, 'm'))?.message).toMatch(
      /Registered model 'no-such-model' not found/,
    );
    expect((await attempt({ version: '9' }, 'v'))?.message).toMatch(/has no version 9/);
    const alias = await attempt({ version: undefined, alias: 'ghost' }, 'a');
    expect(alias?.message).toMatch(/no alias 'ghost'/);
    expect(alias?.status).toBe(404);
    expect((await attempt({ version: undefined }, 'n'))?.message).toMatch(/--version.*--alias/);
  });

  it('a missing feature column, named', async () => {
    const input = join(work, 'no-plan.csv');
    writeCsv(
      input,
      inputRows(5).map((r) => ({ id: r.id, spend: r.spend })),
    );
    const err = await attempt({ input }, 'f');
    expect(err?.status).toBe(400);
    expect(err?.message).toMatch(/lacks feature column 'plan'/);
  });

  it('a malformed CSV, refused before any row is scored', async () => {
    const input = join(work, 'malformed.csv');
    // 2,000 good lines first: the bad one is past the first batch.
    const good = inputRows(2_000).map((r) => `${r.id},${r.spend ?? ''},${r.plan}`);
    writeFileSync(input, `id,spend,plan\n${good.join('\n')}\nu9,"unterminated,pro\nu10,1,pro,extra,fields\n`);
    const err = await attempt({ input, batchSize: 100 }, 'c');
    expect(err?.status).toBe(400);
    expect(err?.message).toMatch(/cannot read input .* as CSV/);
  });

  it('a numeric feature that is not a number', async () => {
    const input = join(work, 'text-spend.csv');
    writeCsv(input, [...inputRows(30), { id: 'x', spend: 'lots', plan: 'pro' }]);
    const err = await attempt({ input, batchSize: 10 }, 't');
    expect(err?.status).toBe(400);
    expect(err?.message).toMatch(/lots/);
  });

  it('an unreadable or missing file, or an unknown format', async () => {
    const garbage = join(work, 'garbage.parquet');
    writeFileSync(garbage, 'this is not parquet');
    const unreadable = await attempt({ input: garbage }, 'u');
    expect(unreadable?.status).toBe(400);
    expect(unreadable?.message).toMatch(/cannot read input .* as Parquet/);
    expect((await attempt({ input: join(work, 'absent.csv') }, 'x'))?.message).toMatch(/does not exist/);
    const json = await attempt({ output: join(work, 'bad', 'o.json') }, 'o');
    expect(json?.message).toMatch(/must end in \.csv or \.parquet/);
  });

  it('the workflow fails without leaving parts, and the CLI says why', async () => {
    const input = join(work, 'remote-bad.csv');
    writeCsv(input, [...inputRows(1_500), { id: 'x', spend: 'lots', plan: 'pro' }]);
    const output = join(work, 'bad', 'remote.parquet');
    const outputs = join(dataDir, 's3', 'artifacts', 'batch-scoring', 'outputs');
    const objects = () =>
      existsSync(outputs) ? readdirSync(outputs, { recursive: true }).map(String).sort() : [];
    const before = objects();
    // Two shards: the first scores and puts its part, the second meets the bad value.
    const err = await batchScoreRemote(runtime, {
      model: NAME,
      version: '1',
      input,
      output,
      shardRows: 1_000,
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/lots/);
    expect(existsSync(output)).toBe(false);
    // The failure path deleted the first shard's part: no object of this job is left.
    expect(objects().filter((o) => o.includes('part-') || o.endsWith('.json'))).toEqual(
      before.filter((o) => o.includes('part-') || o.endsWith('.json')),
    );
  });

  it('the CLI refuses a call without a version or alias with exit code 1', async () => {
    const program = buildProgram();
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const errWrite = console.error;
    console.error = (m: unknown) => errors.push(String(m));
    try {
      await program.parseAsync([
        'node',
        'mlops',
        'batch-score',
        '--model',
        NAME,
        '--input',
        'a.csv',
        '--output',
        'b.csv',
      ]);
    } finally {
      console.error = errWrite;
      void write;
    }
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
    expect(errors.join('\n')).toMatch(/--version.*--alias/);
  });
});

function mkdirFor(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
}
