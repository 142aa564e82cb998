import { z } from 'zod';
import { parsePredictionLine } from '../../monitoring/log/parse';
import type { LoggedPrediction } from '../../monitoring/log/record';
import { awsClients } from '../../platform/aws-clients';
import { decodeAwsLogsEvent } from '../../platform/awslogs';
import { baseConfigSchema, loadConfig } from '../../platform/config';
import { logger } from '../../platform/observability';
import { loadServedModel, type ServedModel } from '../../serving/domain/served-model';
import { createOnnxScorer } from '../../serving/inference/session';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../../tracking/store/dynamo-tracking-store';
import { CachedShadowConfig, ShadowConfigStore } from './config';
import { scorePairs, taskOf } from './pairs';
import { writePairs } from './store';

const config = loadConfig(
  baseConfigSchema.extend({
    /** Shadow configuration and pairs (lambdas/experiments/shadow/layout.ts). */
    MONITORING_BUCKET: z.string().min(1),
    /** Registry and runs, to resolve the shadow version's files. */
    TABLE: z.string().min(1),
    ARTIFACTS_BUCKET: z.string().min(1),
    SHADOW_CONFIG_CACHE_SECONDS: z.coerce.number().nonnegative().default(10),
    /** A version whose model failed to load is tried again after this long. */
    MODEL_RETRY_SECONDS: z.coerce.number().nonnegative().default(60),
  }),
);
const clients = awsClients();
const configs = new CachedShadowConfig(
  new ShadowConfigStore(clients.objectStore, config.MONITORING_BUCKET),
  config.SHADOW_CONFIG_CACHE_SECONDS * 1000,
);
const loaderDeps = {
  registry: new DynamoRegistryStore(clients.dynamodb, config.TABLE),
  runs: createDynamoTrackingStore(clients.dynamodb, config.TABLE),
  store: clients.objectStore,
  bucket: config.ARTIFACTS_BUCKET,
  createScorer: createOnnxScorer,
  variant: 'shadow',
};

type Loaded = ServedModel | { readonly version: string; readonly error: string };
// One session per shadow version for the environment's life; a failed load is kept for a while.
const models = new Map<string, { at: number; model: Promise<Loaded> }>();
function shadowModel(name: string, version: string): Promise<Loaded> {
  const key = `${name}\n${version}`;
  const hit = models.get(key);
  if (hit) return hit.model;
  const model = loadServedModel(loaderDeps, { name, version }).catch((err: unknown): Loaded => {
    setTimeout(() => models.delete(key), config.MODEL_RETRY_SECONDS * 1000).unref();
    return { version, error: `the shadow version did not load: ${(err as Error).message}` };
  });
  models.set(key, { at: Date.now(), model });
  return model;
}

/**
 * The shadow scorer: CloudWatch Logs delivers the predict function's successful prediction
 * lines (subscription filter `{ $.mlops_prediction = 1 && $.status = 200 }`); each request of
 * a model with a shadow is scored by the shadow version on the inputs the live version was
 * fed, and the pairs are stored in the monitoring bucket. It runs after the live answer was
 * returned, in another function: its latency and failures never reach a caller. A storage
 * error fails the invocation and the batch is delivered again (its files are overwritten).
 */
export async function handler(event: unknown): Promise<{ pairs: number }> {
  const batch = decodeAwsLogsEvent(event);
  const first = batch.logEvents[0];
  if (!first) return { pairs: 0 };
  const byModel = new Map<string, LoggedPrediction[]>();
  for (const e of batch.logEvents) {
    const parsed = parsePredictionLine(e.message);
    if (!parsed.ok) continue;
    const list = byModel.get(parsed.record.model) ?? [];
    list.push(parsed.record);
    byModel.set(parsed.record.model, list);
  }
  let count = 0;
  for (const [model, records] of byModel) {
    const shadow = await configs.get(model);
    if (!shadow) continue;
    const loaded = await shadowModel(model, shadow.version);
    const pairs = await scorePairs(records, shadow, loaded);
    if (!pairs.length) continue;
    // A model that never loaded has no signature: its pairs are judged as the default task.
    const task = 'error' in loaded ? 'classification' : taskOf(loaded);
    await writePairs(
      clients.objectStore,
      config.MONITORING_BUCKET,
      { model, shadowVersion: shadow.version, task, batchId: first.id },
      pairs,
    );
    count += pairs.length;
  }
  if (count) logger.info('shadow pairs stored', { pairs: count, logGroup: batch.logGroup });
  return { pairs: count };
}
