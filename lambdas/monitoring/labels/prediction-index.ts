import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../../platform/concurrency';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import { ROWS_PER_LINE } from '../../serving/domain/prediction-log';
import type { LoggedPrediction, PredictionSink } from '../log/record';
import { BY_HOUR_INDEX, DEFAULT_TTL_DAYS } from './index-schema';
import type { IndexedRequest, LabelStore, StoredLabel } from './labels';

// Kept apart so the CDK construct reads them without loading the SDK.
export { BY_HOUR_INDEX, DEFAULT_TTL_DAYS };

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** One log line's share of a request: its rows' predictions, where they start in the request. */
export interface IndexedPart extends IndexedRequest {
  readonly part: number;
  /** Index in the request of this part's first row. */
  readonly offset: number;
  /** The primary output per row of this part (null where the model answered a non-finite value). */
  readonly predictions: readonly (number | null)[];
}

/** What the performance job reads: predictions by prediction time, and their labels. */
export interface PredictionSource {
  /** Every indexed part of the model's predictions made in [from, to), in pages. */
  parts(model: string, from: number, to: number): AsyncIterable<IndexedPart[]>;
  labels(ids: readonly string[]): Promise<Map<string, StoredLabel>>;
}

const requestKey = (id: string) => `req#${id}`;
const partKey = (part: number) => `part#${String(part).padStart(4, '0')}`;
const LABEL_SK = 'label';
const hourOf = (t: number) => new Date(Math.floor(t / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13);
const timeKey = (t: number) => String(Math.max(0, Math.floor(t))).padStart(15, '0');

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The prediction index: per logged request id, what joining a delayed label needs (model,
 * version, variant, prediction time, each row's prediction), one item per log line (a
 * request over 100 rows spans several), and the request's label once it arrives. Items
 * expire `ttlDays` after the prediction (DynamoDB TTL on `expires_at`), labels with them.
 * A GSI keyed by model and hour of prediction time lets the performance job read a window
 * of predictions without a scan.
 *
 * It is a PredictionSink of the log shipper: a batch delivered twice writes the same
 * items again (an item's content comes only from its log line), so redelivery is harmless,
 * and labels live on their own item, which shipping never touches.
 *
 * @example
 * const index = new PredictionIndex(doc, 'prediction-index');
 * await index.write(records); // from the log shipper
 */
export class PredictionIndex implements PredictionSink, LabelStore, PredictionSource {
  readonly name = 'prediction-index';

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly ttlDays = DEFAULT_TTL_DAYS,
  ) {}

  private expiresAt(predictionTime: number): number {
    return Math.floor((predictionTime + this.ttlDays * DAY_MS) / 1000);
  }

  async write(records: readonly LoggedPrediction[]): Promise<void> {
    const items = records
      .filter((r) => r.status === 200 && r.predictions.length > 0)
      .map((r) => {
        const part = r.part ?? 1;
        return {
          pk: requestKey(r.requestId),
          sk: partKey(part),
          [`${BY_HOUR_INDEX}pk`]: `${r.model}#${hourOf(r.timestamp)}`,
          [`${BY_HOUR_INDEX}sk`]: `${timeKey(r.timestamp)}#${r.requestId}#${partKey(part)}`,
          request_id: r.requestId,
          model: r.model,
          version: r.version,
          variant: r.variant,
          ...(typeof r.extra.arm === 'string' ? { arm: r.extra.arm } : {}),
          ts: r.timestamp,
          rows: r.rows,
          part,
          parts: r.parts ?? 1,
          offset: (part - 1) * ROWS_PER_LINE,
          predictions: r.predictions.map((p) => (Number.isFinite(p) ? p : null)),
          expires_at: this.expiresAt(r.timestamp),
        };
      });
    await mapLimit(chunks(items, 25), 8, async (batch) => {
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
        if (attempt > 8) throw new Error(`prediction index: ${pending.length} writes still unprocessed`);
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (out.UnprocessedItems?.[this.table] ?? []) as typeof pending;
      }
    });
  }

  private async batchGet(keys: { pk: string; sk: string }[]): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    await mapLimit(chunks(keys, 100), 4, async (batch) => {
      let pending: Record<string, unknown>[] = batch;
      for (let attempt = 0; pending.length; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
        if (attempt > 8) throw new Error(`prediction index: ${pending.length} reads still unprocessed`);
        const out = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }),
        );
        found.push(...((out.Responses?.[this.table] ?? []) as Record<string, unknown>[]));
        pending = (out.UnprocessedKeys?.[this.table]?.Keys ?? []) as Record<string, unknown>[];
      }
    });
    return found;
  }

  async requests(ids: readonly string[]): Promise<Map<string, IndexedRequest>> {
    // The first part carries the request's row count; every request has one.
    const items = await this.batchGet(ids.map((id) => ({ pk: requestKey(id), sk: partKey(1) })));
    const now = Date.now();
    return new Map(
      items
        // DynamoDB deletes expired items within days, not at once: expired is absent.
        .filter((i) => Number(i.expires_at) * 1000 > now)
        .map((i) => [String(i.request_id), toRequest(i)]),
    );
  }

  async labels(ids: readonly string[]): Promise<Map<string, StoredLabel>> {
    const items = await this.batchGet([...new Set(ids)].map((id) => ({ pk: requestKey(id), sk: LABEL_SK })));
    return new Map(
      items.map((i) => [
        String(i.request_id),
        {
          requestId: String(i.request_id),
          values: (i.values as number[]).map(Number),
          observedAt: Number(i.observed_at),
          receivedAt: Number(i.received_at),
        },
      ]),
    );
  }

  async putLabel(label: StoredLabel, request: IndexedRequest, mode: 'create' | 'replace') {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: requestKey(label.requestId),
            sk: LABEL_SK,
            request_id: label.requestId,
            values: [...label.values],
            observed_at: label.observedAt,
            received_at: label.receivedAt,
            // Joinable as long as its prediction is.
            expires_at: this.expiresAt(request.timestamp),
          },
          ...(mode === 'create' ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
        }),
      );
      return 'written' as const;
    } catch (err) {
      if (isConditionFailed(err)) return 'exists' as const;
      throw err;
    }
  }

  async *parts(model: string, from: number, to: number): AsyncIterable<IndexedPart[]> {
    for (let hour = Math.floor(from / HOUR_MS) * HOUR_MS; hour < to; hour += HOUR_MS) {
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: BY_HOUR_INDEX,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
            ExpressionAttributeNames: { '#pk': `${BY_HOUR_INDEX}pk`, '#sk': `${BY_HOUR_INDEX}sk` },
            ExpressionAttributeValues: {
              ':pk': `${model}#${hourOf(hour)}`,
              ':from': timeKey(from),
              // Below `to`: every key of time to-1 sorts before '<to-1>$' ('#' < '$').
              ':to': `${timeKey(to - 1)}$`,
            },
            ExclusiveStartKey: start,
          }),
        );
        const page = (out.Items ?? []).map(
          (i): IndexedPart => ({
            ...toRequest(i),
            part: Number(i.part),
            offset: Number(i.offset),
            predictions: (i.predictions as (number | null)[]).map((p) => (p === null ? null : Number(p))),
          }),
        );
        if (page.length) yield page;
        start = out.LastEvaluatedKey;
      } while (start);
    }
  }
}

function toRequest(i: Record<string, unknown>): IndexedRequest {
  return {
    requestId: String(i.request_id),
    model: String(i.model),
    version: String(i.version),
    variant: String(i.variant),
    timestamp: Number(i.ts),
    rows: Number(i.rows),
    ...(typeof i.arm === 'string' ? { arm: i.arm } : {}),
  };
}
