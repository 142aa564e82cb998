import { z } from 'zod';
import { DynamoExperimentStore } from '../../experiments/store/dynamo-experiment-store';
import { awsClients } from '../../platform/aws-clients';
import { loadConfig } from '../../platform/config';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../../tracking/store/dynamo-tracking-store';
import { PredictionIndex } from '../labels/prediction-index';
import { computePerformance, performanceEmf } from './performance';
import { writeLatestPerformance } from './performance-store';
import { computeProxyMetrics, proxyEmf } from './proxy';
import { registryVersionInfo } from './version-info';

const HOUR_MS = 3_600_000;
const config = loadConfig(
  z.object({
    INDEX_TABLE: z.string().min(1),
    TABLE: z.string().min(1),
    ARTIFACTS_BUCKET: z.string().min(1),
    MODEL_NAME: z.string().min(1),
    LOOKBACK_HOURS: z.coerce.number().positive().default(168),
    WINDOW_HOURS: z.coerce.number().positive().default(24),
    MIN_LABELS: z.coerce.number().int().min(1).default(100),
    /** The experiment store: its outcomes give proxy metrics per version. @default - none */
    EXPERIMENTS_TABLE: z.string().min(1).optional(),
    /** Where the latest run is stored for the monitoring API (`performance/`). */
    MONITORING_BUCKET: z.string().min(1),
  }),
);
const clients = awsClients();
const index = new PredictionIndex(clients.dynamodb, config.INDEX_TABLE);
const experiments = config.EXPERIMENTS_TABLE
  ? new DynamoExperimentStore(clients.dynamodb, config.EXPERIMENTS_TABLE)
  : undefined;
const deps = {
  registry: new DynamoRegistryStore(clients.dynamodb, config.TABLE),
  runs: createDynamoTrackingStore(clients.dynamodb, config.TABLE),
  store: clients.objectStore,
  bucket: config.ARTIFACTS_BUCKET,
};

/** A manual run may name its range (epoch ms or ISO) and window; the schedule sends none. */
const EventSchema = z
  .object({
    from: z.union([z.number(), z.string()]).optional(),
    to: z.union([z.number(), z.string()]).optional(),
    windowHours: z.number().positive().optional(),
    minLabels: z.number().int().min(1).optional(),
  })
  .passthrough();

const ms = (v: number | string | undefined, fallback: number) =>
  v === undefined ? fallback : typeof v === 'number' ? v : Date.parse(v);

/**
 * The performance job (EventBridge schedule): joins the labels that have arrived to the
 * served model's predictions of the last LOOKBACK_HOURS, scores each version per
 * WINDOW_HOURS window and over the range, and writes the metrics as EMF to stdout
 * (CloudWatch Logs extracts them; locally the runtime's alarms read them), and stores the run
 * as the model's latest in the monitoring bucket, which the monitoring API reads.
 */
export const handler = async (event: unknown) => {
  const e = EventSchema.parse(event ?? {});
  const now = Date.now();
  const to = ms(e.to, now);
  const from = ms(e.from, to - config.LOOKBACK_HOURS * HOUR_MS);
  if (!Number.isFinite(from) || !Number.isFinite(to))
    throw new Error('from and to must be epoch ms or ISO 8601 times');
  const report = await computePerformance(
    index,
    (version) => registryVersionInfo(deps, config.MODEL_NAME, version),
    {
      model: config.MODEL_NAME,
      from,
      to,
      windowMs: (e.windowHours ?? config.WINDOW_HOURS) * HOUR_MS,
      minLabels: e.minLabels ?? config.MIN_LABELS,
    },
  );
  const windowMs = (e.windowHours ?? config.WINDOW_HOURS) * HOUR_MS;
  // Outcomes of the model's experiments, by outcome time over the same range.
  const proxy = experiments
    ? await computeProxyMetrics(experiments, { model: config.MODEL_NAME, from, to, windowMs })
    : null;
  for (const record of [...performanceEmf(report, now), ...(proxy ? proxyEmf(proxy, now) : [])]) {
    process.stdout.write(`${JSON.stringify(record)}\n`);
  }
  await writeLatestPerformance(clients.objectStore, config.MONITORING_BUCKET, {
    generatedAt: new Date().toISOString(),
    report,
    proxy,
  });
  return { ...report, proxy };
};
