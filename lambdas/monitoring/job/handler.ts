import { join } from 'node:path';
import { z } from 'zod';
import { AthenaEngine } from '../../features/athena/athena-engine';
import type { SqlEngine } from '../../features/offline/sql-engine';
import { awsClients } from '../../platform/aws-clients';
import { loadConfig } from '../../platform/config';
import { InvalidParameterError } from '../../platform/errors';
import { eventPublisher } from '../../platform/events';
import { logger } from '../../platform/observability';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../../tracking/store/dynamo-tracking-store';
import type { LogSource } from '../aggregate/window-plan';
import { DriftConfigSchema } from '../drift/config';
import { duckdbPredictionLog } from '../log/log-table';
import { DRIFT_EVENT } from './drift-event';
import { type DriftJobDeps, runDriftJob, sizeWindow } from './drift-job';
import { registryProfiles } from './profile-source';

const config = loadConfig(
  z.object({
    MONITORING_BUCKET: z.string().min(1),
    ARTIFACTS_BUCKET: z.string().min(1),
    TABLE: z.string().min(1),
    /** Comma-separated models whose log the job reads (the served model). */
    MODELS: z.string().min(1),
    WINDOW_HOURS: z.coerce.number().positive().default(24),
    DRIFT_PSI: z.coerce.number().positive().default(0.2),
    /** Rows of a window above which it is aggregated in SQL rather than streamed through the function. */
    AGGREGATE_ROWS: z.coerce.number().int().positive().default(10_000_000),
    /** Athena's workgroup and the Glue database and table of the prediction log (AWS only). */
    ATHENA_WORKGROUP: z.string().min(1).optional(),
    LOG_DATABASE: z.string().min(1).optional(),
    LOG_TABLE: z.string().min(1).default('predictions'),
    /** Set by the local runtime: the log is read by DuckDB from the local bucket's folder. */
    MLOPS_LOCAL_S3_ROOT: z.string().min(1).optional(),
    /** The drift configuration (minSamples, driftShare, per-feature methods and thresholds) as JSON. */
    DRIFT_CONFIG: z
      .string()
      .default('{}')
      .transform((text, ctx) => {
        try {
          const parsed = DriftConfigSchema.safeParse(JSON.parse(text));
          if (parsed.success) return parsed.data;
          ctx.addIssue({
            code: 'custom',
            message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          });
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `not JSON: ${(err as Error).message}` });
        }
        return z.NEVER;
      }),
  }),
);
const clients = awsClients();
const profiles = registryProfiles({
  registry: new DynamoRegistryStore(clients.dynamodb, config.TABLE),
  runs: createDynamoTrackingStore(clients.dynamodb, config.TABLE),
  store: clients.objectStore,
  bucket: config.ARTIFACTS_BUCKET,
});
const publisher = eventPublisher(DRIFT_EVENT.source);

/**
 * The prediction log's table on a SQL engine: DuckDB over the local bucket's folder (the
 * local runtime), Athena on the Glue table on AWS. Opened on first use: a streamed window
 * needs neither.
 */
let sql: Promise<NonNullable<DriftJobDeps['sql']>> | undefined;
function sqlEngine(): Promise<NonNullable<DriftJobDeps['sql']>> {
  sql ??= (async () => {
    if (config.MLOPS_LOCAL_S3_ROOT) {
      const { DuckDbEngine } = await import('../../features/offline/duckdb-engine');
      const engine: SqlEngine = await DuckDbEngine.create();
      const source: LogSource = {
        dialect: 'duckdb',
        table: duckdbPredictionLog(join(config.MLOPS_LOCAL_S3_ROOT, config.MONITORING_BUCKET)),
      };
      return { engine, source };
    }
    if (!config.ATHENA_WORKGROUP || !config.LOG_DATABASE) {
      throw new Error('ATHENA_WORKGROUP and LOG_DATABASE are needed to aggregate a window in Athena');
    }
    const engine = new AthenaEngine({
      client: clients.athena,
      workGroup: config.ATHENA_WORKGROUP,
      database: config.LOG_DATABASE,
    });
    const table = `"${config.LOG_DATABASE}"."${config.LOG_TABLE}"`;
    return { engine, source: { dialect: 'athena', table } };
  })();
  return sql;
}

/** What the schedule (or `mlops monitor run`) may ask for: defaults are the configured ones. */
const InputSchema = z
  .object({
    models: z.array(z.string().min(1)).min(1).optional(),
    windowHours: z
      .number()
      .positive()
      .max(24 * 366)
      .optional(),
    /**
     * `size` counts the window's rows (the state machine's first step), `sql` aggregates it in
     * SQL, `stream` (the default) streams it through this function.
     */
    step: z.enum(['size', 'stream', 'sql']).optional(),
    /** The window's end, epoch ms: the sizing step's, so every step sees the same window. */
    to: z.number().int().positive().optional(),
  })
  .passthrough();

/**
 * The drift job's function, run by the monitoring state machine on its schedule: compares
 * each model's logged traffic of the last window with its versions' baseline profiles
 * (lambdas/monitoring/job/drift-job.ts). Answers a short summary per version (the reports
 * are in the monitoring bucket), small enough for the state machine's 256 KB state.
 */
export async function handler(event: unknown) {
  // The sizing step gets the execution's input whole under `request` (it may lack fields a
  // path would have to name); later steps get the sizing step's resolved fields.
  const e = (event ?? {}) as { request?: Record<string, unknown> };
  const parsed = InputSchema.safeParse(e.request ? { ...e.request, ...e, request: undefined } : e);
  if (!parsed.success) {
    throw new InvalidParameterError(
      `Invalid drift job input: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const models =
    parsed.data.models ??
    config.MODELS.split(',')
      .map((m) => m.trim())
      .filter(Boolean);
  const step = parsed.data.step ?? 'stream';
  const windowHours = parsed.data.windowHours ?? config.WINDOW_HOURS;
  const deps: DriftJobDeps = {
    store: clients.objectStore,
    bucket: config.MONITORING_BUCKET,
    profiles,
    publisher: await publisher,
    // EMF: Lambda sends stdout to CloudWatch Logs, which extracts the metrics.
    emit: (line) => process.stdout.write(`${line}\n`),
    ...(step === 'stream' ? {} : { sql: await sqlEngine() }),
  };
  const options = {
    models,
    windowHours,
    drift: config.DRIFT_CONFIG,
    driftPsi: config.DRIFT_PSI,
    to: parsed.data.to ?? Date.now(),
  };
  if (step === 'size') {
    const sizes = await sizeWindow(deps, options);
    const largest = Math.max(0, ...sizes.flatMap((s) => Object.values(s.versions)));
    // The state machine's choice: a version's window above the threshold goes to SQL.
    const aggregate = largest > config.AGGREGATE_ROWS;
    logger.info('drift job: window size', { sizes, threshold: config.AGGREGATE_ROWS, aggregate });
    return { windowHours, to: options.to, models, aggregate, threshold: config.AGGREGATE_ROWS, sizes };
  }
  const results = await runDriftJob(deps, { ...options, source: step });
  const summary = results.map((r) => ({
    model: r.model,
    version: r.version,
    rows: r.rows,
    failures: r.failures,
    verdict: r.report?.summary.verdict ?? 'insufficient_data',
    drifted: r.drifted,
    published: r.published,
    reasons: r.reasons,
    maxPsi: r.maxPsi,
    predictionPsi: r.predictionPsi,
    ...(r.reportKeys ? { report: r.reportKeys } : {}),
    ...(r.error ? { error: r.error } : {}),
  }));
  for (const s of summary) {
    if (s.error) logger.warn('drift job: no comparison', s);
    else logger.info('drift job', s);
  }
  return { windowHours, source: step, results: summary };
}
