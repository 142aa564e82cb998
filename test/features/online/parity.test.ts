import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnDemandTransform } from '../../../lambdas/features/definitions/schema';
import { buildTrainingSet } from '../../../lambdas/features/offline/training-set';
import { materialize } from '../../../lambdas/features/online/materialize';
import { getOnlineFeatures } from '../../../lambdas/features/online/retrieval';
import { readRows } from '../support';
import { BUCKET, makeOnlineWorld, type OnlineWorld, us } from './support';

// Every value type, a created-time tie-break, a TTL, every aggregation function (int and float
// sums, a string max, a timestamp last), a view without TTL, and an on-demand view.
const definitions = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: [
    {
      name: 'txn',
      kind: 'file',
      format: 'csv',
      path: 'unused.csv',
      columns: [
        { name: 'user_id', type: 'int64' },
        { name: 'ts', type: 'timestamp' },
        { name: 'created', type: 'timestamp' },
        { name: 'amount', type: 'float64' },
        { name: 'items', type: 'int64' },
        { name: 'channel', type: 'string' },
        { name: 'flagged', type: 'bool' },
        { name: 'settled_at', type: 'timestamp' },
      ],
    },
    {
      name: 'profile',
      kind: 'push',
      columns: [
        { name: 'user_id', type: 'int64' },
        { name: 'ts', type: 'timestamp' },
        { name: 'tier', type: 'string' },
      ],
    },
  ],
  featureViews: [
    {
      name: 'txn',
      entities: ['user'],
      source: 'txn',
      timestampField: 'ts',
      createdTimestampField: 'created',
      ttl: '2d',
      features: [
        { name: 'amount', type: 'float64' },
        { name: 'items', type: 'int64' },
        { name: 'channel', type: 'string' },
        { name: 'flagged', type: 'bool' },
        { name: 'settled_at', type: 'timestamp' },
      ],
      aggregations: [
        { name: 'n_7d', function: 'count', window: '7d' },
        { name: 'amount_sum_7d', function: 'sum', column: 'amount', window: '7d' },
        { name: 'items_sum_1d', function: 'sum', column: 'items', window: '1d' },
        { name: 'amount_mean_3d', function: 'mean', column: 'amount', window: '3d' },
        { name: 'amount_min_6h', function: 'min', column: 'amount', window: '6h' },
        { name: 'channel_max_7d', function: 'max', column: 'channel', window: '7d' },
        { name: 'amount_last_7d', function: 'last', column: 'amount', window: '7d' },
        { name: 'settled_last_2d', function: 'last', column: 'settled_at', window: '2d' },
      ],
    },
    {
      name: 'profile',
      entities: ['user'],
      source: 'profile',
      timestampField: 'ts',
      features: [{ name: 'tier', type: 'string' }],
    },
  ],
  onDemandFeatureViews: [
    {
      name: 'cart',
      request: [{ name: 'cart_total', type: 'float64' }],
      features: ['txn:amount'],
      schema: [{ name: 'cart_ratio', type: 'float64' }],
    },
  ],
};
const cart: OnDemandTransform = (r) => ({
  cart_ratio:
    typeof r['amount'] === 'number' && r['amount'] > 0 ? Number(r['cart_total']) / r['amount'] : null,
});

const USERS = 40;
const T1 = '2024-06-11T00:00:00.000Z';
// 1.5 days later, with no new data: windows slide and some values pass the 2d TTL.
const T2 = '2024-06-12T12:00:00.000Z';

let w: OnlineWorld;
// mulberry32: a small deterministic generator, so every run builds the same data.
let seed = 42;
const next = (n: number): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n);
};

beforeAll(async () => {
  w = await makeOnlineWorld(definitions, new Map([['cart', cart]]));
  const base = Date.parse('2024-06-01T00:00:00Z');
  const txn: Record<string, unknown>[] = [];
  for (let i = 0; i < 600; i++) {
    // Users 31..40 only have old rows, so T2 finds them past the TTL; user 5 has none at all.
    const user = 1 + next(USERS);
    if (user === 5 || user === 2) continue;
    const span = user > 30 ? 5 * 86_400 : 10 * 86_400;
    const ts = new Date(base + next(span) * 1000);
    const tie = next(5) === 0; // a second row at the same event time, created later
    for (const k of tie ? [0, 1] : [0]) {
      txn.push({
        user_id: user,
        ts: ts.toISOString(),
        created: new Date(ts.getTime() + k * 1000 + next(3) * 60_000).toISOString(),
        // Binary fractions keep float sums exact whatever order they are added in.
        amount: next(9) === 0 ? '' : next(4000) / 4,
        items: next(6) === 0 ? '' : next(20),
        channel: ['web', 'app', 'store', ''][next(4)],
        flagged: next(2) === 0 ? 'true' : 'false',
        settled_at: next(5) === 0 ? '' : new Date(ts.getTime() + next(7200) * 1000).toISOString(),
      });
    }
  }
  // User 2: one row exactly 7d before T1 (outside every 7d window at T1), one exactly 1d
  // before T1 (outside the 1d window), one exactly at T2 - 2d (the TTL boundary at T2).
  const row2 = (ts: string, amount: number, items: number) => ({
    user_id: 2,
    ts,
    created: ts,
    amount,
    items,
    channel: 'web',
    flagged: 'false',
    settled_at: ts,
  });
  txn.push(
    row2('2024-06-04T00:00:00Z', 1, 1),
    row2('2024-06-10T00:00:00Z', 2, 3),
    row2('2024-06-10T12:00:00Z', 8, 4),
  );
  await w.ingest('txn', txn);
  await w.ingest(
    'profile',
    Array.from({ length: 25 }, (_, i) => ({
      user_id: i + 1,
      ts: new Date(base + next(10 * 86_400) * 1000).toISOString(),
      tier: ['gold', 'silver', 'bronze'][next(3)],
    })),
  );
  await materialize(
    { repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET, table: w.table, chunkKeys: 16 },
    { start: 0, end: us(T1) },
  );
});
afterAll(() => w.close());

const FEATURES = [
  'txn:amount',
  'txn:items',
  'txn:channel',
  'txn:flagged',
  'txn:settled_at',
  'txn:n_7d',
  'txn:amount_sum_7d',
  'txn:items_sum_1d',
  'txn:amount_mean_3d',
  'txn:amount_min_6h',
  'txn:channel_max_7d',
  'txn:amount_last_7d',
  'txn:settled_last_2d',
  'profile:tier',
  'cart:cart_ratio',
];

describe('online values equal training-set values for the same entities and times', () => {
  it.each([T1, T2])('at %s, for every feature type, window aggregation and on-demand feature', async (at) => {
    const users = [...Array.from({ length: USERS }, (_, i) => i + 1), 999];
    const carts = users.map((u) => u * 2.5);
    const rowsFile = join(w.dir, `rows-${at.slice(0, 13)}.csv`);
    await writeFile(
      rowsFile,
      ['user_id,event_timestamp,cart_total', ...users.map((u, i) => `${u},${at},${carts[i]}`)].join('\n'),
    );
    const output = join(w.dir, `ts-${at.slice(0, 13)}.parquet`);
    await buildTrainingSet(
      { repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET },
      { entityRows: rowsFile, features: FEATURES, output },
    );
    const offline = await readRows(w.engine, output);
    const online = await getOnlineFeatures(
      { repo: w.repo, table: w.table, now: () => new Date(at) },
      { features: FEATURES, entities: { user_id: users, cart_total: carts } },
    );
    const names = online.metadata.feature_names;
    expect(names).toEqual(['user_id', ...FEATURES.map((f) => f.split(':')[1])]);
    const onlineRows = users.map((_, j) =>
      Object.fromEntries(names.map((n, c) => [n, online.results[c]?.values[j]])),
    );
    const offlineRows = offline.map((r) => Object.fromEntries(names.map((n) => [n, r[n]])));
    expect(onlineRows).toEqual(offlineRows);
    // The data really exercises the rules: TTL expiry, empty windows, unknown and missing keys.
    const col = (n: string) => online.results[names.indexOf(n)];
    expect(col('amount')?.statuses).toContain('PRESENT');
    expect(col('n_7d')?.values.some((v) => Number(v) > 3)).toBe(true);
    expect(col('amount')?.statuses[users.indexOf(999)]).toBe('NOT_FOUND');
    expect(col('amount')?.statuses[users.indexOf(5)]).toBe('NOT_FOUND');
    if (at === T2) expect(col('amount')?.statuses).toContain('OUTSIDE_MAX_AGE');
    expect(col('cart_ratio')?.values.filter((v) => v !== null).length).toBeGreaterThan(at === T1 ? 15 : 5);
    if (at === T1) expect(col('amount_min_6h')?.values.filter((v) => v !== null).length).toBeGreaterThan(0);
    // User 2's only rows sit on the boundaries (see beforeAll), worked out by hand.
    const u2 = users.indexOf(2);
    const v = (n: string) => col(n)?.values[u2];
    if (at === T1) expect([v('n_7d'), v('items_sum_1d'), v('amount')]).toEqual([2, 4, 8]);
    // At T2 the row of exactly T2 - 2d is still inside the TTL (inclusive) and the 2d window (exclusive) is not.
    else
      expect([v('amount'), col('amount')?.statuses[u2], v('settled_last_2d')]).toEqual([8, 'PRESENT', null]);
  });
});
