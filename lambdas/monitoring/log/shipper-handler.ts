import type { CloudWatchLogsEvent } from 'aws-lambda';
import { z } from 'zod';
import { awsClients } from '../../platform/aws-clients';
import { decodeAwsLogsEvent } from '../../platform/awslogs';
import { loadConfig } from '../../platform/config';
import { logger } from '../../platform/observability';
import type { PredictionSink } from './record';
import { shipLogEvents } from './shipper';

const config = loadConfig(z.object({ MONITORING_BUCKET: z.string().min(1) }));
const clients = awsClients();

/**
 * The consumers each stored batch is handed to, in order. A consumer adds a factory here that
 * builds its sink from the function's environment and answers undefined when its resources
 * are not configured (so this function runs with any subset of consumers deployed); the
 * construct that adds the consumer sets its variables on this function
 * (`Monitoring.shipper`, lib/monitoring/monitoring.ts).
 */
export const SINK_FACTORIES: readonly ((env: NodeJS.ProcessEnv) => Promise<PredictionSink | undefined>)[] = [
  // Delayed labels: what each request needs for a label to be joined later (PerformanceMonitoring.addIndexWriter).
  async (env) => {
    if (!env.PREDICTION_INDEX_TABLE) return undefined;
    const { PredictionIndex, DEFAULT_TTL_DAYS } = await import('../labels/prediction-index');
    const ttl = Number(env.LABEL_TTL_DAYS ?? DEFAULT_TTL_DAYS);
    return new PredictionIndex(clients.dynamodb, env.PREDICTION_INDEX_TABLE, ttl);
  },
  // A/B tests: one exposure per experiment and unit (Experiments.grantRecordExposures).
  async (env) => {
    if (!env.EXPERIMENTS_TABLE) return undefined;
    const [{ ExposureSink }, { DynamoExperimentStore }] = await Promise.all([
      import('../../experiments/exposures'),
      import('../../experiments/store/dynamo-experiment-store'),
    ]);
    return new ExposureSink(new DynamoExperimentStore(clients.dynamodb, env.EXPERIMENTS_TABLE));
  },
];

let sinks: Promise<PredictionSink[]> | undefined;
function configuredSinks(): Promise<PredictionSink[]> {
  sinks ??= Promise.all(SINK_FACTORIES.map((make) => make(process.env))).then((all) =>
    all.filter((s): s is PredictionSink => s !== undefined),
  );
  return sinks;
}

/**
 * The log shipper: CloudWatch Logs delivers the predict function's prediction lines (the
 * subscription filter `{ $.mlops_prediction = 1 && $.status = 200 }`) gzipped and base64-encoded; they are
 * stored in the monitoring bucket and handed to the sinks. An error fails the invocation,
 * and CloudWatch Logs delivers the batch again (stored files are overwritten, not added).
 */
export async function handler(event: CloudWatchLogsEvent): Promise<{ records: number; skipped: number }> {
  const data = decodeAwsLogsEvent(event);
  if (data.messageType === 'CONTROL_MESSAGE') return { records: 0, skipped: 0 };
  const result = await shipLogEvents(
    {
      store: clients.objectStore,
      bucket: config.MONITORING_BUCKET,
      sinks: await configuredSinks(),
      warn: (message) => logger.warn(message),
    },
    data.logEvents,
  );
  logger.info('prediction log batch stored', { ...result, logGroup: data.logGroup });
  return { records: result.records, skipped: result.skipped };
}
