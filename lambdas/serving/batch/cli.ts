import { randomUUID } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { localDynamoClients } from '../../../local/engines/dynamodb';
import { type LocalRuntime, startLocalRuntime } from '../../../local/runtime';
import { loadRegistryRepo } from '../../features/definitions/feature-registry-store';
import { DuckDbEngine } from '../../features/offline/duckdb-engine';
import { fileFormat } from '../../features/offline/entity-rows';
import { literal } from '../../features/offline/render-sql';
import { cliAction } from '../../platform/cli-action';
import { InvalidParameterError, InvalidStateError, MlopsError } from '../../platform/errors';
import { FsObjectStore } from '../../platform/fs-object-store';
import { createMlflowClient } from '../../tracking/client/mlflow-client';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../../tracking/store/dynamo-tracking-store';
import { createBatchScorer } from '../inference/worker-scorer';
import { batchEngine } from './batch-engine';
import {
  type BatchScoreDeps,
  type BatchScoreRequest,
  type BatchScoreResult,
  batchScore,
} from './batch-score';
import { OUTPUT_PREFIX, parseS3Uri, pinOf } from './job';
import type { BatchProgress } from './score-file';
import type { BatchManifest } from './workflow';

/** The local platform's buckets and table, by their local names. */
const ARTIFACTS = 'artifacts';
const FEATURES = 'features';
const TABLE = 'tracking';

/**
 * What batch scoring needs from a local runtime: its registry (DynamoDB), its object store
 * and feature registry. The caller owns the engine and closes it.
 */
export function localBatchDeps(
  rt: Pick<LocalRuntime, 'dynamodbEndpoint' | 'dataDir'>,
  engine: DuckDbEngine,
): BatchScoreDeps {
  const doc = localDynamoClients(rt.dynamodbEndpoint).doc;
  const store = new FsObjectStore(join(rt.dataDir, 's3'));
  return {
    models: {
      registry: new DynamoRegistryStore(doc, TABLE),
      runs: createDynamoTrackingStore(doc, TABLE),
      store,
      bucket: ARTIFACTS,
      createScorer: (bytes) => createBatchScorer(bytes),
    },
    engine,
    features: {
      store,
      bucket: FEATURES,
      repo: async () => {
        const repo = await loadRegistryRepo(store, FEATURES);
        if (!repo)
          throw new InvalidStateError(
            'no feature registry yet: run `mlops features apply --repo <dir>` first',
          );
        return repo;
      },
    },
  };
}

/**
 * Scores a file in this process with the local runtime's registry and store (the CLI's
 * default path).
 *
 * @example
 * await batchScoreLocal(rt, { model: 'churn', alias: 'champion', input: 'rows.csv', output: 'scores.parquet' });
 */
export async function batchScoreLocal(
  rt: Pick<LocalRuntime, 'dynamodbEndpoint' | 'dataDir'>,
  req: BatchScoreRequest,
): Promise<BatchScoreResult> {
  const engine = await batchEngine();
  try {
    return await batchScore(localBatchDeps(rt, engine), req);
  } finally {
    engine.close();
  }
}

/** What a run on the workflow produced, as the CLI reports it. */
export interface RemoteBatchResult {
  readonly id: string;
  readonly status: string;
  readonly manifest: BatchManifest;
  readonly output: string;
}

/**
 * Scores a file through the synthesized batch-scoring workflow on the local runtime (its
 * Distributed Map runs a shard function per row range), as `POST /v1/batch-scoring` does on
 * AWS: the input is put in the local artifacts bucket, the workflow writes part objects and
 * a manifest, and the parts are joined, in order, into `output` (written aside and renamed).
 */
export async function batchScoreRemote(
  rt: LocalRuntime,
  req: Omit<BatchScoreRequest, 'featureService' | 'range' | 'progress'> & {
    readonly shardRows?: number;
    readonly onShard?: (done: number) => void;
  },
): Promise<RemoteBatchResult> {
  const format = fileFormat(req.output, 'output');
  fileFormat(req.input, 'input');
  pinOf(req);
  const store = new FsObjectStore(join(rt.dataDir, 's3'));
  const id = `batch-${req.model.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${Date.now()}-${randomUUID().slice(0, 8)}`;
  const body = await readFile(req.input).catch(() => {
    throw new InvalidParameterError(`input file '${req.input}' does not exist`);
  });
  const inputKey = `${OUTPUT_PREFIX}inputs/${id}/${basename(req.input)}`;
  await store.put(ARTIFACTS, inputKey, body);
  const request = {
    model: req.model,
    ...(req.version !== undefined ? { version: req.version } : {}),
    ...(req.alias !== undefined ? { alias: req.alias } : {}),
    input: `s3://${ARTIFACTS}/${inputKey}`,
    output: `s3://${ARTIFACTS}/${OUTPUT_PREFIX}outputs/${id}/`,
    format,
    ...(req.batchSize !== undefined ? { batch_size: req.batchSize } : {}),
    ...(req.shardRows !== undefined ? { shard_rows: req.shardRows } : {}),
    ...(req.keys ? { keys: [...req.keys] } : {}),
  };
  try {
    let done = 0;
    const r = await rt.stepFunctions.run('BatchScoring', {
      name: id,
      input: { request },
      onEvent: (ev) => {
        if (ev.type === 'MapIterationSucceeded') req.onShard?.(++done);
      },
    });
    if (r.status !== 'SUCCEEDED') {
      const cause = String(r.error?.Cause ?? '');
      // A task's error is the function's JSON error ({errorMessage}); show the message.
      let message = cause;
      try {
        message = (JSON.parse(cause) as { errorMessage?: string }).errorMessage ?? cause;
      } catch {}
      throw new MlopsError(
        /InvalidParameter|NotFound|Conflict/.test(r.error?.Error ?? '')
          ? 'INVALID_PARAMETER_VALUE'
          : 'INVALID_STATE',
        `batch scoring ${id} failed: ${message}`,
      );
    }
    const manifest = (r.output as unknown as { manifest: BatchManifest }).manifest;
    const parts = manifest.parts.map((p) => store.uri(ARTIFACTS, p.key));
    const out = resolve(req.output);
    const tmp = `${out}.tmp-${randomUUID()}${extname(out)}`;
    const engine = await DuckDbEngine.create();
    try {
      const read =
        format === 'parquet'
          ? `read_parquet([${parts.map(literal).join(', ')}])`
          : `read_csv([${parts.map(literal).join(', ')}], header = true, all_varchar = true)`;
      await engine.write(`SELECT * FROM ${read}`, tmp, format);
      await rename(tmp, out);
    } finally {
      engine.close();
      await rm(tmp, { force: true });
    }
    return { id, status: r.status, manifest, output: out };
  } finally {
    await store.delete(ARTIFACTS, inputKey);
  }
}

/** A progress line: rows, percent and rows per second. */
export function progressLine(p: BatchProgress): string {
  const pct = p.total > 0 ? ((100 * p.rows) / p.total).toFixed(1) : '100.0';
  const rate = p.elapsedMs > 0 ? Math.round((p.rows / p.elapsedMs) * 1000) : 0;
  return `${p.rows.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} rows (${pct}%), ${rate.toLocaleString('en-US')} rows/s`;
}

interface BatchCliOptions {
  model?: string;
  version?: string;
  alias?: string;
  input?: string;
  output?: string;
  batchSize?: string;
  featureService?: string;
  timestampColumn?: string;
  keys?: string;
  remote?: boolean;
  shardRows?: string;
  apiUrl?: string;
  dataDir: string;
  stage: string;
}

function whole(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidParameterError(`${what} must be a whole number >= 1, got '${v}'`);
  return n;
}

/**
 * `mlops batch-score --model <name> (--version <v> | --alias <a>) --input <file> --output <file>`:
 * scores in this process on the local runtime's registry and store, with progress; with
 * `--remote`, through the synthesized Step Functions workflow (Distributed Map) instead; with
 * `--api-url` (and S3 URIs), starts the job on a running platform's API.
 */
export function registerBatchCommands(program: Command): void {
  program
    .command('batch-score')
    .description('score a Parquet or CSV file with a registered model version or alias')
    .option('--model <name>', 'registered model')
    .option('--version <v>', 'model version')
    .option('--alias <a>', 'model alias (resolved once, when the job starts)')
    .option('--input <file>', 'CSV or Parquet file (entity rows with --feature-service)')
    .option('--output <file>', 'predictions file: .csv or .parquet')
    .option('--batch-size <n>', 'rows per model call', '10000')
    .option('--feature-service <name>', 'join features point in time to the input entity rows first')
    .option('--timestamp-column <name>', 'event timestamp of the entity rows (with --feature-service)')
    .option(
      '--keys <cols>',
      'input columns written beside the predictions (default: those the model does not take)',
    )
    .option(
      '--remote',
      'run the batch-scoring workflow (Step Functions Distributed Map) instead of this process',
    )
    .option('--shard-rows <n>', 'rows per shard with --remote')
    .option('--api-url <url>', 'a running platform API: start the job there (input and output as s3:// URIs)')
    .option('--data-dir <dir>', 'local data directory', '.mlops')
    .option('--stage <stage>', 'stage', 'local')
    .action(
      cliAction(async (o: BatchCliOptions) => {
        if (!o.model || !o.input || !o.output)
          throw new InvalidParameterError(
            'usage: mlops batch-score --model <name> (--version <v> | --alias <a>) --input <file> --output <file>',
          );
        const ref = {
          model: o.model,
          ...(o.version !== undefined ? { version: o.version } : {}),
          ...(o.alias !== undefined ? { alias: o.alias } : {}),
        };
        pinOf(ref);
        const batchSize = whole(o.batchSize, '--batch-size');
        const keys = o.keys
          ?.split(',')
          .map((k) => k.trim())
          .filter(Boolean);
        const err = process.stderr;
        // S3 URIs name a job for a running platform (--api-url or $MLOPS_API_URL).
        const apiUrl = o.apiUrl ?? (o.input.startsWith('s3://') ? process.env.MLOPS_API_URL : undefined);
        if (apiUrl) {
          const api = createMlflowClient({ apiUrl }).call;
          parseS3Uri(o.input);
          const r = await api('POST', '/v1/batch-scoring', {
            ...ref,
            input: o.input,
            output: o.output,
            ...(batchSize ? { batch_size: batchSize } : {}),
            ...(keys ? { keys } : {}),
          });
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        const rt = await startLocalRuntime({ port: 0, dataDir: o.dataDir, config: { stage: o.stage } });
        try {
          if (o.remote) {
            if (o.featureService)
              throw new InvalidParameterError('--feature-service runs in this process only; drop --remote');
            const shardRows = whole(o.shardRows, '--shard-rows');
            err.write(
              'running the batch-scoring workflow (Distributed Map) from the synthesized state machine\n',
            );
            const r = await batchScoreRemote(rt, {
              ...ref,
              input: resolve(o.input),
              output: resolve(o.output),
              ...(batchSize ? { batchSize } : {}),
              ...(keys ? { keys } : {}),
              ...(shardRows ? { shardRows } : {}),
              onShard: (n) => err.write(`  shard ${n} scored\n`),
            });
            err.write(
              `scored ${r.manifest.rows} rows with ${r.manifest.model} v${r.manifest.version} in ${r.manifest.parts.length} shard(s) → ${r.output}\n`,
            );
            return;
          }
          let last = 0;
          const tty = Boolean(err.isTTY);
          const r = await batchScoreLocal(rt, {
            ...ref,
            input: resolve(o.input),
            output: resolve(o.output),
            ...(batchSize ? { batchSize } : {}),
            ...(keys ? { keys } : {}),
            ...(o.featureService ? { featureService: o.featureService } : {}),
            ...(o.timestampColumn ? { timestampColumn: o.timestampColumn } : {}),
            log: (m) => err.write(`  ${m}\n`),
            progress: (p) => {
              // A line per second when not a terminal; redrawn in place on one.
              if (tty) err.write(`\r  ${progressLine(p)}`);
              else if (p.elapsedMs - last >= 1000 || p.rows === p.total) {
                last = p.elapsedMs;
                err.write(`  ${progressLine(p)}\n`);
              }
            },
          });
          if (tty) err.write('\n');
          err.write(
            `scored ${r.rows} rows with ${r.model} v${r.version} in ${r.batches} batch(es) → ${r.output}\n`,
          );
        } finally {
          await rt.stop();
        }
      }),
    );
}
