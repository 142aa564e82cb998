import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { convertToNative } from '@aws-sdk/util-dynamodb';
import { mapLimit } from '../../platform/concurrency';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import { MlopsError } from '../../platform/errors';
import type { ItemVersion, OnlineItem } from './online-item';
import type { OnlineItems } from './online-table';

/** How the adapter batches and retries. */
export interface DynamoOnlineTableOptions {
  /** Batch requests in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Attempts for unprocessed items or keys before giving up. @default 8 */
  readonly maxAttempts?: number;
  /** First backoff in ms; doubles per attempt, with full jitter. @default 20 */
  readonly baseDelayMs?: number;
}

const SK = 'v';
const VERSION_ATTRS = ['ets', 'cts', 'asof', 'rev'];
const NEWER =
  'attribute_not_exists(pk) OR ets < :e OR (ets = :e AND cts < :c) OR (ets = :e AND cts = :c AND asof < :a)';

/**
 * Feature items on DynamoDB (or dynalite): BatchGetItem of 100 keys and BatchWriteItem of 25
 * items, batches in parallel, unprocessed keys and items retried with exponential backoff and
 * jitter; conditional PutItem for writes that must never replace a newer value.
 */
export class DynamoOnlineItems implements OnlineItems {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;

  constructor(
    protected readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    options: DynamoOnlineTableOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 16;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 20;
  }

  async getItems(
    pks: readonly string[],
    attributes: readonly string[] | 'all',
  ): Promise<Map<string, Record<string, unknown>>> {
    const projection = attributes === 'all' ? {} : projectionOf(attributes);
    const out = new Map<string, Record<string, unknown>>();
    const unique = [...new Set(pks)];
    await mapLimit(chunk(unique, 100), this.concurrency, async (batch) => {
      // The low-level command with keys and items read by hand: the DocumentClient's
      // marshall/unmarshall cost more CPU than the rest of an online read (serving's budget).
      let keys: Record<string, AttributeValue>[] = batch.map((pk) => ({ pk: { S: pk }, sk: SK_VALUE }));
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > this.maxAttempts) throw throttled('BatchGetItem', keys.length);
        if (attempt > 1) await this.backoff(attempt);
        const res = (await this.doc.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ...projection } } }),
        )) as BatchGetItemCommandOutput;
        for (const raw of res.Responses?.[this.tableName] ?? []) {
          const item = nativeItem(raw);
          out.set(String(item['pk']), item);
        }
        keys = res.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    });
    return out;
  }

  async getVersions(pks: readonly string[]): Promise<Map<string, ItemVersion & { rev?: string }>> {
    const items = await this.getItems(pks, VERSION_ATTRS);
    const out = new Map<string, ItemVersion & { rev?: string }>();
    for (const [pk, item] of items) out.set(pk, versionOf(item));
    return out;
  }

  async putItems(items: readonly OnlineItem[]): Promise<void> {
    await mapLimit(chunk(items, 25), this.concurrency, async (batch) => {
      let requests: Record<string, unknown>[] = batch.map((i) => ({ PutRequest: { Item: toRecord(i) } }));
      for (let attempt = 1; requests.length > 0; attempt++) {
        if (attempt > this.maxAttempts) throw throttled('BatchWriteItem', requests.length);
        if (attempt > 1) await this.backoff(attempt);
        const res = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (res.UnprocessedItems?.[this.tableName] as Record<string, unknown>[] | undefined) ?? [];
      }
    });
  }

  async putIfNewer(item: OnlineItem): Promise<boolean> {
    return this.conditionalPut(item, NEWER, { ':e': item.ets, ':c': item.cts, ':a': item.asof });
  }

  async putIfRev(item: OnlineItem, rev: string | undefined): Promise<boolean> {
    return rev === undefined
      ? this.conditionalPut(item, 'attribute_not_exists(pk)', undefined)
      : this.conditionalPut(item, 'rev = :r', { ':r': rev });
  }

  private async conditionalPut(
    item: OnlineItem,
    condition: string,
    values: Record<string, unknown> | undefined,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toRecord(item),
          ConditionExpression: condition,
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  private backoff(attempt: number): Promise<void> {
    const cap = this.baseDelayMs * 2 ** (attempt - 2);
    return new Promise((r) => setTimeout(r, Math.random() * cap));
  }
}

function toRecord(i: OnlineItem): Record<string, unknown> {
  return {
    ...i.attrs,
    pk: i.pk,
    sk: SK,
    ets: i.ets,
    cts: i.cts,
    asof: i.asof,
    rev: crypto.randomUUID(),
    ...(i.expiresAt !== undefined ? { expires_at: i.expiresAt } : {}),
  };
}

function versionOf(item: Record<string, unknown>): ItemVersion & { rev?: string } {
  return {
    ets: Number(item['ets']),
    cts: Number(item['cts']),
    asof: Number(item['asof'] ?? 0),
    ...(typeof item['rev'] === 'string' ? { rev: item['rev'] } : {}),
  };
}

const SK_VALUE: AttributeValue = { S: SK };

type Projection = { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> };
// Retrieval asks with the same attribute list (one per view and feature service) every time.
const projections = new WeakMap<readonly string[], Projection>();
function projectionOf(attributes: readonly string[]): Projection {
  let p = projections.get(attributes);
  if (!p) {
    // Only what the caller reads (and the key): every attribute returned costs the table's
    // response, the SDK's parse and ours on serving's path.
    const names = [...new Set(['pk', ...attributes])];
    p = {
      ProjectionExpression: names.map((_, i) => `#a${i}`).join(', '),
      ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
    };
    projections.set(attributes, p);
  }
  return p;
}

/**
 * An item as `unmarshall` of @aws-sdk/util-dynamodb returns it (the same values), with the
 * types feature items hold read directly: strings, and numbers in the safe range (others,
 * and every other type, through the SDK's own conversion).
 */
function nativeItem(raw: Record<string, AttributeValue>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const name in raw) {
    const av = raw[name] as AttributeValue;
    if (av.S !== undefined) item[name] = av.S;
    else if (av.N !== undefined) {
      const n = Number(av.N);
      item[name] = n >= Number.MIN_SAFE_INTEGER && n <= Number.MAX_SAFE_INTEGER ? n : convertToNative(av);
    } else item[name] = convertToNative(av);
  }
  return item;
}

function throttled(op: string, left: number): MlopsError {
  return new MlopsError(
    'TEMPORARILY_UNAVAILABLE',
    `${op}: ${left} item(s) still unprocessed after retries (table throttled); retry later`,
  );
}

function chunk<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
