import { App, Stack } from 'aws-cdk-lib';
import { BY_HOUR_INDEX, PredictionIndex } from '../../lambdas/monitoring/labels/prediction-index';
import type { LoggedPrediction } from '../../lambdas/monitoring/log/record';
import { ROWS_PER_LINE } from '../../lambdas/serving/domain/prediction-log';
import { SecureTable } from '../../lib/private/secure-table';
import { localDynamoClients, type RunningEngine, startDynamoDb } from '../../local/engines/dynamodb';
import { ensureTables } from '../../local/resources';
import { type CfnTemplate, readTemplate } from '../../local/template';

/**
 * The prediction index on an in-memory dynalite, its table created from the template of the
 * very table construct lib/monitoring/performance.ts uses (keys, GSI, TTL attribute). The
 * TTL is long by default: the reference data are dated early 2026.
 */
export async function startIndex(
  ttlDays = 3650,
): Promise<{ index: PredictionIndex; engine: RunningEngine; close(): Promise<void> }> {
  const app = new App();
  const stack = new Stack(app, 'IndexTest');
  new SecureTable(stack, 'PredictionIndex', {
    localName: 'prediction-index',
    indexes: [BY_HOUR_INDEX],
    timeToLiveAttribute: 'expires_at',
    retain: false,
  });
  const template = app.synth().getStackByName('IndexTest').template as CfnTemplate;
  const engine = await startDynamoDb();
  await ensureTables(readTemplate(template), engine.endpoint);
  const { doc, client } = localDynamoClients(engine.endpoint);
  return {
    index: new PredictionIndex(doc, 'prediction-index', ttlDays),
    engine,
    async close() {
      client.destroy();
      await engine.close();
    },
  };
}

/** The lines serving logs for one request (one per 100 rows), as the shipper hands them over. */
export function logged(
  requestId: string,
  timestamp: number,
  version: string,
  predictions: readonly number[],
  model = 'churn',
): LoggedPrediction[] {
  const parts = Math.max(1, Math.ceil(predictions.length / ROWS_PER_LINE));
  return Array.from({ length: parts }, (_, p) => ({
    requestId,
    model,
    version,
    variant: 'blue',
    api: 'v1',
    timestamp,
    status: 200,
    latencyMs: 1,
    rows: predictions.length,
    ...(parts > 1 ? { part: p + 1, parts } : {}),
    inputs: {},
    predictions: predictions.slice(p * ROWS_PER_LINE, (p + 1) * ROWS_PER_LINE),
    extra: {},
  }));
}
