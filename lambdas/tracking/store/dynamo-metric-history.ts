import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../../platform/concurrency';
import type { Metric } from '../domain/model';
import { metricOrderKey } from '../domain/order-key';
import { keys } from './dynamo-keys';
import { fromStoredValue, toStoredValue } from './dynamo-util';
import type { MetricHistoryStore } from './tracking-store';

/** Metric histories on the tracking table: one item per point, keyed by its order key. */
export class DynamoMetricHistory implements MetricHistoryStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async appendMetricHistory(runId: string, metrics: readonly Metric[]): Promise<void> {
    const seen = new Map<string, Record<string, unknown>>();
    for (const m of metrics) {
      const o = metricOrderKey(m);
      const item = {
        ...keys.metricHistory(runId, m.key, o),
        key: m.key,
        x: toStoredValue(m.value),
        t: m.timestamp,
        s: m.step,
      };
      seen.set(`${item.pk}\n${item.sk}`, item);
    }
    const items = [...seen.values()];
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
    await mapLimit(batches, 8, async (batch) => {
      let requests = batch.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        const res = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (res.UnprocessedItems?.[this.table] ?? []) as typeof requests;
        if (requests.length && attempt > 8) throw new Error('DynamoDB kept items unprocessed');
        if (requests.length) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      }
    });
  }

  async metricHistory(
    runId: string,
    key: string,
    page: { after?: string; limit: number },
  ): Promise<{ metrics: Metric[]; last?: string }> {
    const metrics: Metric[] = [];
    let start: Record<string, unknown> | undefined = page.after
      ? { pk: keys.metricHistoryPartition(runId, key), sk: page.after }
      : undefined;
    let last: string | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': keys.metricHistoryPartition(runId, key) },
          ExclusiveStartKey: start,
          Limit: page.limit - metrics.length,
        }),
      );
      for (const it of res.Items ?? []) {
        metrics.push({ key, value: fromStoredValue(it), timestamp: it.t, step: it.s });
        last = it.sk as string;
      }
      start = res.LastEvaluatedKey;
    } while (start && metrics.length < page.limit);
    return { metrics, last: start ? last : undefined };
  }
}
