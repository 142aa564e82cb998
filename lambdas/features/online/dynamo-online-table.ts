import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../../platform/concurrency';
import { MlopsError } from '../../platform/errors';
import type { ItemVersion, OnlineItem } from './online-item';
import { type MaterializationState, NO_REACH, type OnlineTable, UNKNOWN_REACH } from './online-table';

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
const STATE_SK = 'state';
const VERSION_ATTRS = ['pk', 'ets', 'cts', 'asof', 'rev'];
const NEWER =
  'attribute_not_exists(pk) OR ets < :e OR (ets = :e AND cts < :c) OR (ets = :e AND cts = :c AND asof < :a)';

/**
 * The online store on DynamoDB (or dynalite): BatchGetItem of 100 keys and BatchWriteItem of 25
 * items, batches in parallel, unprocessed keys and items retried with exponential backoff and
 * jitter; conditional PutItem for writes that must never replace a newer value.
 *
 * @example
 * const table = new DynamoOnlineTable(awsClients().dynamodb, process.env.ONLINE_TABLE!);
 */
export class DynamoOnlineTable implements OnlineTable {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
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
    const names = attributes === 'all' ? [] : [...new Set([...VERSION_ATTRS, ...attributes])];
    const projection =
      attributes === 'all'
        ? {}
        : {
            ProjectionExpression: names.map((_, i) => `#a${i}`).join(', '),
            ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
          };
    const out = new Map<string, Record<string, unknown>>();
    const unique = [...new Set(pks)];
    await mapLimit(chunk(unique, 100), this.concurrency, async (batch) => {
      let keys: Record<string, unknown>[] = batch.map((pk) => ({ pk, sk: SK }));
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > this.maxAttempts) throw throttled('BatchGetItem', keys.length);
        if (attempt > 1) await this.backoff(attempt);
        const res = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ...projection } } }),
        );
        for (const item of res.Responses?.[this.tableName] ?? []) out.set(String(item['pk']), item);
        keys = (res.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      }
    });
    return out;
  }

  async getVersions(pks: readonly string[]): Promise<Map<string, ItemVersion & { rev?: string }>> {
    const items = await this.getItems(pks, []);
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

  async getState(view: string): Promise<MaterializationState> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: stateKey(view), sk: STATE_SK },
        ConsistentRead: true,
      }),
    );
    return stateOf(res.Item);
  }

  async raiseReach(view: string, to: number): Promise<number> {
    const Key = { pk: stateKey(view), sk: STATE_SK };
    let old: Record<string, unknown> | undefined;
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET reach = :r',
          ConditionExpression: 'attribute_not_exists(reach) OR reach < :r',
          ExpressionAttributeValues: { ':r': to },
          ReturnValues: 'ALL_OLD',
        }),
      );
      old = res.Attributes;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Already at or above `to`: its value now is at least the one the condition saw.
      return (await this.getState(view)).reach ?? UNKNOWN_REACH;
    }
    if (old?.['reach'] !== undefined) return Number(old['reach']);
    if (old?.['watermark'] === undefined) return NO_REACH;
    // Materialized by code that kept no reach: its items reach at least up to the watermark.
    const watermark = Number(old['watermark']);
    if (watermark > to) await this.raiseReach(view, watermark);
    return UNKNOWN_REACH;
  }

  async beginRun(
    view: string,
    runId: string,
    chunks: number,
    leaseUntil: number,
    nowMs: number,
    reach: number,
  ): Promise<{ ok: true; state: MaterializationState } | { ok: false; holder: string; until: number }> {
    const lease = await this.takeLease(view, runId, chunks, leaseUntil, nowMs);
    if (!lease.ok) return lease;
    // Reach first, then the floor it returned: a crash in between leaves no floor, and the
    // rerun then records the reach it finds (its own, at least), which only reads more.
    const before = await this.raiseReach(view, reach);
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKey(view), sk: STATE_SK },
          UpdateExpression: 'SET run_floor = :f',
          ConditionExpression: 'run_id = :id AND attribute_not_exists(run_floor)',
          ExpressionAttributeValues: { ':f': before, ':id': runId },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ok: true, state: stateOf(res.Attributes) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    // The same run resumed (its floor is kept), or another run took the lease in between.
    const state = await this.getState(view);
    if (state.run?.runId === runId) return { ok: true, state };
    return { ok: false, holder: state.run?.runId ?? '(unknown)', until: state.run?.leaseUntil ?? 0 };
  }

  private async takeLease(
    view: string,
    runId: string,
    chunks: number,
    leaseUntil: number,
    nowMs: number,
  ): Promise<{ ok: true } | { ok: false; holder: string; until: number }> {
    const Key = { pk: stateKey(view), sk: STATE_SK };
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          // The same run keeps its finished chunks and floor; a new run starts from none.
          UpdateExpression: 'SET lease_until = :u',
          ConditionExpression: 'run_id = :id AND chunks = :n',
          ExpressionAttributeValues: { ':id': runId, ':u': leaseUntil, ':n': chunks },
        }),
      );
      return { ok: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET run_id = :id, lease_until = :u, chunks = :n, done = :none REMOVE run_floor',
          ConditionExpression: 'attribute_not_exists(run_id) OR lease_until < :now OR run_id = :id',
          ExpressionAttributeValues: {
            ':id': runId,
            ':u': leaseUntil,
            ':n': chunks,
            ':none': [],
            ':now': nowMs,
          },
        }),
      );
      return { ok: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const s = await this.getState(view);
      return { ok: false, holder: s.run?.runId ?? '(unknown)', until: s.run?.leaseUntil ?? 0 };
    }
  }

  async renewLease(view: string, runId: string, leaseUntil: number, nowMs: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKey(view), sk: STATE_SK },
          UpdateExpression: 'SET lease_until = :u',
          ConditionExpression: 'run_id = :id AND lease_until >= :now',
          ExpressionAttributeValues: { ':id': runId, ':u': leaseUntil, ':now': nowMs },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return false;
    }
  }

  async chunkDone(view: string, runId: string, chunkIndex: number, leaseUntil: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: stateKey(view), sk: STATE_SK },
        UpdateExpression: 'SET done = list_append(done, :c), lease_until = :u',
        ConditionExpression: 'run_id = :id',
        ExpressionAttributeValues: { ':c': [chunkIndex], ':id': runId, ':u': leaseUntil },
      }),
    );
  }

  async finishRun(view: string, runId: string, end: number): Promise<void> {
    const state = await this.getState(view);
    const watermark = Math.max(state.watermark ?? Number.MIN_SAFE_INTEGER, end);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKey(view), sk: STATE_SK },
          UpdateExpression: 'SET watermark = :w REMOVE run_id, lease_until, chunks, done, run_floor',
          ConditionExpression: 'run_id = :id',
          ExpressionAttributeValues: { ':w': watermark, ':id': runId },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Already finished by an earlier attempt of the same step (a retried Lambda): nothing to do.
      if (state.run?.runId === runId) throw err;
    }
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
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private backoff(attempt: number): Promise<void> {
    const cap = this.baseDelayMs * 2 ** (attempt - 2);
    return new Promise((r) => setTimeout(r, Math.random() * cap));
  }
}

/**
 * Creates the online table when missing (`pk`/`sk` strings, on-demand), as the CDK construct
 * defines it: for the CLI and tests on a dynalite without the synthesized template.
 */
export async function ensureOnlineTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists(
    { client, maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.2 },
    { TableName: tableName },
  );
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

function stateKey(view: string): string {
  return `_materialization#${view}`;
}

function stateOf(item: Record<string, unknown> | undefined): MaterializationState {
  if (!item) return {};
  const run =
    typeof item['run_id'] === 'string'
      ? {
          runId: item['run_id'],
          leaseUntil: Number(item['lease_until']),
          chunks: Number(item['chunks']),
          done: ((item['done'] as unknown[] | undefined) ?? []).map(Number),
          ...(item['run_floor'] !== undefined ? { floor: Number(item['run_floor']) } : {}),
        }
      : undefined;
  return {
    ...(item['watermark'] !== undefined ? { watermark: Number(item['watermark']) } : {}),
    ...(item['reach'] !== undefined ? { reach: Number(item['reach']) } : {}),
    ...(run ? { run } : {}),
  };
}

function isConditionFailure(err: unknown): boolean {
  return (err as { name?: string })?.name === 'ConditionalCheckFailedException';
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
