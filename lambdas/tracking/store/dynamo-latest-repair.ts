import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../../platform/concurrency';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import type { Metric } from '../domain/model';
import { metricOrderKey } from '../domain/order-key';
import { keys } from './dynamo-keys';
import { ExpressionBuilder } from './dynamo-util';

type Item = Record<string, unknown>;

/**
 * How long after the last mark a writer may still be writing history: twice the tracking
 * function's 29 s timeout. Older marks that history never reached are dropped.
 */
export const PENDING_GRACE_MS = 60_000;

/**
 * A log-batch writes history items, then raises the run's latest values; a crash between
 * the two would leave "latest" behind its history for ever. Before the history write, the
 * run item gets a mark per metric key, `pend.<key>` = the greatest order key about to be
 * written (raised only, like latest), and `pend_at`. A reader that finds a mark above the
 * latest value raises latest from the history's greatest point (always a logged point, so
 * this is safe while the writer is still running), and drops a mark the history never
 * reached once `pend_at` is older than PENDING_GRACE_MS.
 *
 * @example
 * await markPendingLatest(db, table, runId, metrics);
 * await history.appendMetricHistory(runId, metrics);
 */
export async function markPendingLatest(
  db: DynamoDBDocumentClient,
  table: string,
  runId: string,
  metrics: readonly Metric[],
  now: number = Date.now(),
): Promise<void> {
  const best = new Map<string, string>();
  for (const m of metrics) {
    const o = metricOrderKey(m);
    if ((best.get(m.key) ?? '') < o) best.set(m.key, o);
  }
  const entries = [...best.entries()];
  if (entries.length === 0) return;
  const chunks: [string, string][][] = [];
  for (let i = 0; i < entries.length; i += 40) chunks.push(entries.slice(i, i + 40));
  const mark = async (chunk: readonly [string, string][]): Promise<boolean> => {
    const b = new ExpressionBuilder();
    const p = b.name('pend');
    const sets = [`${b.name('pend_at')} = ${b.value(now)}`];
    const conds = ['attribute_exists(pk)'];
    for (const [k, o] of chunk) {
      const n = b.name(k);
      const v = b.value(o);
      sets.push(`${p}.${n} = ${v}`);
      conds.push(`(attribute_not_exists(${p}.${n}) OR ${p}.${n} < ${v})`);
    }
    try {
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: keys.run(runId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conds.join(' AND '),
          ...b.attributes(),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      if (!isMissingMap(err)) throw err;
    }
    // The run's first mark: create the map (a concurrent first mark may win; then retry).
    await db
      .send(
        new UpdateCommand({
          TableName: table,
          Key: keys.run(runId),
          UpdateExpression: 'SET #p = :m, #a = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#p)',
          ExpressionAttributeNames: { '#p': 'pend', '#a': 'pend_at' },
          ExpressionAttributeValues: { ':m': Object.fromEntries(chunk), ':now': now },
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
    return mark(chunk);
  };
  let lost = false;
  await mapLimit(chunks, 4, async (chunk) => {
    if (await mark(chunk)) return;
    lost = true;
    // A key already holds a higher mark (or the run is gone): settle each key alone.
    if (chunk.length > 1) await mapLimit(chunk, 8, (e) => mark([e]));
  });
  if (lost) {
    // pend_at must still say "a writer is active" for the grace period.
    await db
      .send(
        new UpdateCommand({
          TableName: table,
          Key: keys.run(runId),
          UpdateExpression: 'SET #a = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_exists(#p)',
          ExpressionAttributeNames: { '#a': 'pend_at', '#p': 'pend' },
          ExpressionAttributeValues: { ':now': now },
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
  }
}

/**
 * A run item as readers may see it: every latest value raised to at least the greatest
 * point of its history where a mark says a writer may have stopped between the two. Costs
 * nothing unless a mark is above its latest value (a write in flight, or a crash).
 */
export async function settleRunItem(
  db: DynamoDBDocumentClient,
  table: string,
  item: Item,
  now: number = Date.now(),
): Promise<Item> {
  const pend = (item.pend ?? {}) as Record<string, string>;
  const metrics = { ...((item.metrics ?? {}) as Record<string, { o?: string }>) };
  const behind = Object.keys(pend).filter((k) => (pend[k] ?? '') > (metrics[k]?.o ?? ''));
  if (behind.length === 0) return item;
  const runId = (item.info as { run_id: string }).run_id;
  const stale = now - Number(item.pend_at ?? 0) > PENDING_GRACE_MS;
  const remaining = { ...pend };
  await mapLimit(behind, 8, async (k) => {
    const res = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': keys.metricHistoryPartition(runId, k) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const top = res.Items?.[0];
    const o = top?.sk as string | undefined;
    if (top && o && o > (metrics[k]?.o ?? '')) {
      // The history item holds the point in the same stored form as the latest map.
      const stored = { ...(top.x === undefined ? { v: top.v } : { x: top.x }), t: top.t, s: top.s, o };
      const b = new ExpressionBuilder();
      const path = `${b.name('metrics')}.${b.name(k)}`;
      const v = b.value(o);
      await db
        .send(
          new UpdateCommand({
            TableName: table,
            Key: keys.run(runId),
            UpdateExpression: `SET ${path} = ${b.value(stored)}`,
            ConditionExpression: `attribute_exists(pk) AND (attribute_not_exists(${path}) OR ${path}.${b.name('o')} < ${v})`,
            ...b.attributes(),
          }),
        )
        .catch((err) => {
          if (!isConditionFailed(err)) throw err;
        });
      metrics[k] = stored;
    }
    if ((metrics[k]?.o ?? '') >= (pend[k] ?? '')) return;
    if (!stale) return;
    // No writer can still be active, and history never got this far: drop the mark.
    const b = new ExpressionBuilder();
    const path = `${b.name('pend')}.${b.name(k)}`;
    await db
      .send(
        new UpdateCommand({
          TableName: table,
          Key: keys.run(runId),
          UpdateExpression: `REMOVE ${path}`,
          ConditionExpression: `${path} = ${b.value(pend[k])}`,
          ...b.attributes(),
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
    delete remaining[k];
  });
  return { ...item, metrics, pend: remaining };
}

/** DynamoDB's answer to `SET pend.k` when the run item has no `pend` map yet. */
function isMissingMap(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return e.name === 'ValidationException' && /document path/i.test(e.message ?? '');
}
