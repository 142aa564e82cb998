import { z } from 'zod';
import { awsClients } from '../../platform/aws-clients';
import { loadConfig } from '../../platform/config';
import { InvalidParameterError } from '../../platform/errors';
import { eventPublisher } from '../../platform/events';
import { logger } from '../../platform/observability';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../../tracking/store/dynamo-tracking-store';
import { DriftConfigSchema } from '../drift/config';
import { DRIFT_EVENT } from './drift-event';
import { runDriftJob } from './drift-job';
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

/** What the schedule (or `mlops monitor run`) may ask for: defaults are the configured ones. */
const InputSchema = z
  .object({
    models: z.array(z.string().min(1)).min(1).optional(),
    windowHours: z
      .number()
      .positive()
      .max(24 * 366)
      .optional(),
  })
  .passthrough();

/**
 * The drift job's function, run by the monitoring state machine on its schedule: compares
 * each model's logged traffic of the last window with its versions' baseline profiles
 * (lambdas/monitoring/job/drift-job.ts). Answers a short summary per version (the reports
 * are in the monitoring bucket), small enough for the state machine's 256 KB state.
 */
export async function handler(event: unknown) {
  const parsed = InputSchema.safeParse(event ?? {});
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
  const results = await runDriftJob(
    {
      store: clients.objectStore,
      bucket: config.MONITORING_BUCKET,
      profiles,
      publisher: await publisher,
      // EMF: Lambda sends stdout to CloudWatch Logs, which extracts the metrics.
      emit: (line) => process.stdout.write(`${line}\n`),
    },
    {
      models,
      windowHours: parsed.data.windowHours ?? config.WINDOW_HOURS,
      drift: config.DRIFT_CONFIG,
      driftPsi: config.DRIFT_PSI,
    },
  );
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
  return { windowHours: parsed.data.windowHours ?? config.WINDOW_HOURS, results: summary };
}
