import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { z } from 'zod';
import type { DuckDbEngine } from '../../features/offline/duckdb-engine';
import {
  ConflictError,
  InvalidParameterError,
  InvalidStateError,
  NotFoundError,
} from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { loadServedModel, type ModelLoaderDeps } from '../domain/served-model';
import { BatchJobSchema, checkJobLocations, DEFAULT_SHARD_ROWS, MANIFEST, pinOf, WORK_PREFIX } from './job';
import { checkFeatures, DEFAULT_BATCH_SIZE, keyColumns, openInput, scoreFile } from './score-file';

/** What the plan step hands to every shard and to the manifest step. */
export interface BatchPlan {
  readonly model: string;
  /** The version resolved when the job started: every shard scores with it, whatever an alias does meanwhile. */
  readonly version: string;
  readonly input: { readonly bucket: string; readonly key: string };
  readonly output: { readonly bucket: string; readonly prefix: string; readonly format: 'parquet' | 'csv' };
  readonly batchSize: number;
  readonly keys: readonly string[];
  readonly rows: number;
  readonly shards: number;
  /** The shard list the Distributed Map reads (a JSON array of {@link Shard}). */
  readonly shardsBucket: string;
  readonly shardsKey: string;
}

export interface Shard {
  readonly index: number;
  readonly offset: number;
  readonly limit: number;
}

export interface ShardResult {
  readonly index: number;
  readonly rows: number;
  readonly key: string;
}

export interface BatchManifest {
  readonly model: string;
  readonly version: string;
  readonly input: string;
  readonly rows: number;
  readonly columns: readonly string[];
  readonly format: 'parquet' | 'csv';
  /** Output objects in row order, with their row counts. */
  readonly parts: readonly { readonly key: string; readonly rows: number }[];
  readonly execution: string;
  readonly finishedAt: string;
}

/** What the workflow's steps need: the model loader's stores, the object store, DuckDB. */
export interface BatchWorkflowDeps {
  readonly models: Omit<ModelLoaderDeps, 'variant'>;
  readonly store: ObjectStore;
  /** The artifacts bucket: shard lists, the Map's results and outputs go here. */
  readonly workBucket: string;
  /** Buckets an input may come from (the artifacts and features buckets). */
  readonly inputBuckets: readonly string[];
  readonly engine: () => Promise<DuckDbEngine>;
}

/** Row ranges of `shardRows` rows covering `rows` rows. */
export function planShards(rows: number, shardRows: number): Shard[] {
  const out: Shard[] = [];
  for (let offset = 0, index = 0; offset < rows; offset += shardRows, index++)
    out.push({ index, offset, limit: Math.min(shardRows, rows - offset) });
  return out;
}

/** A file engines can read for an object: the store's own path locally, else a download to /tmp. */
async function localCopy(
  store: ObjectStore,
  bucket: string,
  key: string,
): Promise<{ path: string; done: () => Promise<void> }> {
  const uri = store.uri(bucket, key);
  if (!uri.startsWith('s3://')) {
    if (!(await store.head(bucket, key)))
      throw new NotFoundError(`input s3://${bucket}/${key} does not exist`);
    return { path: uri, done: async () => undefined };
  }
  const body = await store.get(bucket, key);
  if (!body) throw new NotFoundError(`input s3://${bucket}/${key} does not exist`);
  const dir = join(tmpdir(), `mlops-batch-${randomUUID()}`);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `input${extname(key).toLowerCase()}`);
  await writeFile(path, body);
  return { path, done: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * The workflow's first step: checks the job (the model version resolves and loads, the
 * input exists, is readable and has every feature the model takes, the output prefix is
 * empty), resolves an alias to its version now, and writes the shard list the Distributed
 * Map reads. Every mistake fails here, before any shard runs.
 */
export async function planBatchJob(
  deps: BatchWorkflowDeps,
  event: { request: unknown; execution: string },
): Promise<BatchPlan> {
  const parsed = BatchJobSchema.safeParse(event.request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidParameterError(`batch job: ${issue?.path.join('.') || 'request'}: ${issue?.message}`);
  }
  const job = parsed.data;
  const { input, output } = checkJobLocations(job, deps);
  if ((await deps.store.list(output.bucket, output.key)).length > 0)
    throw new ConflictError(
      `output prefix s3://${output.bucket}/${output.key} already holds objects; choose an empty prefix`,
    );
  const model = await loadServedModel({ ...deps.models, variant: 'batch' }, pinOf(job));
  const file = await localCopy(deps.store, input.bucket, input.key);
  const engine = await deps.engine();
  try {
    const opened = await openInput(engine, file.path);
    checkFeatures(opened, model);
    const keys = keyColumns(opened, model, job.keys);
    if (opened.rows === 0) throw new InvalidParameterError(`input ${job.input} has no rows to score`);
    const shards = planShards(opened.rows, job.shard_rows ?? DEFAULT_SHARD_ROWS);
    const shardsKey = `${WORK_PREFIX}${event.execution}/shards.json`;
    await deps.store.put(deps.workBucket, shardsKey, JSON.stringify(shards), {
      contentType: 'application/json',
    });
    return {
      model: model.name,
      version: model.version,
      input,
      output: { bucket: output.bucket, prefix: output.key, format: job.format },
      batchSize: job.batch_size ?? DEFAULT_BATCH_SIZE,
      keys,
      rows: opened.rows,
      shards: shards.length,
      shardsBucket: deps.workBucket,
      shardsKey,
    };
  } finally {
    engine.close();
    await file.done();
    await model.scorer.release();
  }
}

/** The part object of a shard: `part-00000.parquet` under the output prefix. */
export function partKey(plan: BatchPlan, index: number): string {
  return `${plan.output.prefix}part-${String(index).padStart(5, '0')}.${plan.output.format}`;
}

/**
 * One Distributed Map item: scores the shard's rows with the plan's version (the same
 * `scoreFile` the CLI runs) and puts its part object. A retried shard overwrites its part.
 */
export async function scoreShard(
  deps: BatchWorkflowDeps,
  event: { plan: BatchPlan; shard: Shard },
): Promise<ShardResult> {
  const { plan, shard } = event;
  const model = await loadServedModel(
    { ...deps.models, variant: 'batch' },
    { name: plan.model, version: plan.version },
  );
  const file = await localCopy(deps.store, plan.input.bucket, plan.input.key);
  const out = join(tmpdir(), `mlops-shard-${randomUUID()}.${plan.output.format}`);
  const engine = await deps.engine();
  try {
    const r = await scoreFile(engine, model, {
      input: file.path,
      output: out,
      batchSize: plan.batchSize,
      keys: plan.keys,
      range: { offset: shard.offset, limit: shard.limit },
    });
    const key = partKey(plan, shard.index);
    await deps.store.put(plan.output.bucket, key, await readFile(out));
    return { index: shard.index, rows: r.rows, key };
  } finally {
    engine.close();
    await rm(out, { force: true });
    await file.done();
    await model.scorer.release();
  }
}

const ResultManifestSchema = z.looseObject({
  ResultFiles: z.looseObject({ SUCCEEDED: z.array(z.looseObject({ Key: z.string() })).default([]) }),
});
const ResultEntrySchema = z.looseObject({ Status: z.string(), Output: z.string().optional() });

/**
 * The last step: reads every shard's result from the Distributed Map's ResultWriter files,
 * checks that every shard succeeded and the rows add up, and writes `_manifest.json` (row
 * count, output objects in order, model version). The manifest is written last: until it
 * exists the output is not complete.
 */
export async function writeBatchManifest(
  deps: BatchWorkflowDeps,
  event: { plan: BatchPlan; results: { manifest: string }; execution: string },
): Promise<BatchManifest & { manifestKey: string }> {
  const { plan } = event;
  const read = async (key: string): Promise<unknown> => {
    const body = await deps.store.get(deps.workBucket, key);
    if (!body) throw new InvalidStateError(`the Map's result file '${key}' is missing`);
    return JSON.parse(new TextDecoder().decode(body));
  };
  const results: ShardResult[] = [];
  for (const file of ResultManifestSchema.parse(await read(event.results.manifest)).ResultFiles.SUCCEEDED) {
    for (const entry of z.array(ResultEntrySchema).parse(await read(file.Key))) {
      if (entry.Status === 'SUCCEEDED' && entry.Output) results.push(JSON.parse(entry.Output) as ShardResult);
    }
  }
  results.sort((a, b) => a.index - b.index);
  const rows = results.reduce((s, r) => s + r.rows, 0);
  if (results.length !== plan.shards || rows !== plan.rows)
    throw new InvalidStateError(
      `${results.length} of ${plan.shards} shards scored ${rows} of ${plan.rows} rows; the output is incomplete`,
    );
  const columns = await partColumns(deps, plan, results[0] as ShardResult);
  const manifest: BatchManifest = {
    model: plan.model,
    version: plan.version,
    input: `s3://${plan.input.bucket}/${plan.input.key}`,
    rows,
    columns,
    format: plan.output.format,
    parts: results.map((r) => ({ key: r.key, rows: r.rows })),
    execution: event.execution,
    finishedAt: new Date().toISOString(),
  };
  const manifestKey = `${plan.output.prefix}${MANIFEST}`;
  await deps.store.put(plan.output.bucket, manifestKey, JSON.stringify(manifest, null, 2), {
    contentType: 'application/json',
  });
  return { ...manifest, manifestKey };
}

/** The columns of a part object, as DuckDB reads them. */
async function partColumns(deps: BatchWorkflowDeps, plan: BatchPlan, first: ShardResult): Promise<string[]> {
  const file = await localCopy(deps.store, plan.output.bucket, first.key);
  const engine = await deps.engine();
  try {
    return (await openInput(engine, file.path)).columns.map((c) => c.name);
  } finally {
    engine.close();
    await file.done();
  }
}

/**
 * The failure path: deletes the part objects shards wrote and the shard list, so a failed
 * job leaves no partial output. Returns how many objects it removed.
 */
export async function cleanupBatchJob(
  deps: BatchWorkflowDeps,
  event: { plan?: BatchPlan; execution: string },
): Promise<{ deleted: number }> {
  let deleted = 0;
  if (event.plan) {
    for (let i = 0; i < event.plan.shards; i++) {
      const key = partKey(event.plan, i);
      if (await deps.store.head(event.plan.output.bucket, key)) {
        await deps.store.delete(event.plan.output.bucket, key);
        deleted++;
      }
    }
  }
  for (const o of await deps.store.list(deps.workBucket, `${WORK_PREFIX}${event.execution}/`)) {
    await deps.store.delete(deps.workBucket, o.key);
    deleted++;
  }
  return { deleted };
}
