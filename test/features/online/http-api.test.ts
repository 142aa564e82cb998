import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeRegistry } from '../../../lambdas/features/definitions/feature-registry-store';
import { buildRepo } from '../../../lambdas/features/definitions/repo';
import { ingestBatch } from '../../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../../lambdas/features/offline/duckdb-engine';
import { committedBatches } from '../../../lambdas/features/offline/offline-store';
import { DynamoOnlineTable } from '../../../lambdas/features/online/dynamo-online-table';
import { materialize } from '../../../lambdas/features/online/materialize';
import { FsObjectStore } from '../../../lambdas/platform/fs-object-store';

// The running local platform: its gateway, its dynalite table and its `features` bucket.
const apiUrl = inject('apiUrl');
const BUCKET = 'features';
const TABLE = 'features-online';

const definitions = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: [
    {
      name: 'stats',
      kind: 'file',
      format: 'csv',
      path: 'unused.csv',
      columns: [
        { name: 'user_id', type: 'int64' },
        { name: 'ts', type: 'timestamp' },
        { name: 'score', type: 'float64' },
        { name: 'tier', type: 'string' },
      ],
    },
    {
      name: 'clicks',
      kind: 'push',
      columns: [
        { name: 'user_id', type: 'int64' },
        { name: 'ts', type: 'timestamp' },
        { name: 'n', type: 'int64' },
      ],
    },
  ],
  featureViews: [
    {
      name: 'stats',
      entities: ['user'],
      source: 'stats',
      timestampField: 'ts',
      ttl: '1d',
      features: [
        { name: 'score', type: 'float64' },
        { name: 'tier', type: 'string' },
      ],
    },
    {
      name: 'clicks',
      entities: ['user'],
      source: 'clicks',
      timestampField: 'ts',
      features: [{ name: 'n', type: 'int64' }],
    },
  ],
};

const NOW = Date.now();
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();

let store: FsObjectStore;
let engine: DuckDbEngine;
let client: DynamoDBClient;
let dir: string;

beforeAll(async () => {
  const root = process.env.MLOPS_LOCAL_S3_ROOT;
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!root || !endpoint) throw new Error('the local platform of the test run is not started');
  store = new FsObjectStore(root);
  engine = await DuckDbEngine.create({ threads: 1 });
  client = new DynamoDBClient({ endpoint, region: 'us-east-1' });
  dir = await mkdtemp(join(tmpdir(), 'online-http-'));
  const repo = buildRepo({ file: definitions });
  await writeRegistry(store, BUCKET, repo, 0);
  const file = join(dir, 'stats.csv');
  await writeFile(
    file,
    [
      'user_id,ts,score,tier',
      `1,${ago(300)},0.5,bronze`, // older row of user 1: must not be served
      `1,${ago(120)},1.5,gold`,
      `2,${ago(3 * 24 * 60)},2.5,silver`, // past the 1d TTL
      `3,${ago(60)},,silver`, // null score
    ].join('\n'),
  );
  const r = await ingestBatch({ repo, engine, store, bucket: BUCKET }, { source: 'stats', file });
  expect(r.status).toBe('ingested');
  const table = new DynamoOnlineTable(DynamoDBDocumentClient.from(client), TABLE);
  await materialize(
    { repo, engine, store, bucket: BUCKET, table },
    { views: ['stats'], start: (NOW - 7 * 86_400_000) * 1000, end: NOW * 1000 },
  );
});
afterAll(async () => {
  engine.close();
  client.destroy();
  await rm(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted on field by field.
async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${apiUrl}/features/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}
const online = (features: string[], users: unknown[], extra: Record<string, unknown> = {}) =>
  post('get-online-features', { features, entities: { user_id: users }, ...extra });
const clicksOf = async (users: number[]) => (await online(['clicks:n'], users)).json.results[1];
const offlineClickBatches = async () => (await committedBatches(store, BUCKET, 'clicks')).length;

describe('POST /features/get-online-features', () => {
  it("answers Feast's column-oriented shape with every status", async () => {
    const res = await online(['stats:score', 'stats:tier'], [1, 2, 3, 999]);
    expect(res.status).toBe(200);
    expect(res.json.metadata).toEqual({ feature_names: ['user_id', 'score', 'tier'] });
    const [keys, score, tier] = res.json.results;
    expect(keys.values).toEqual([1, 2, 3, 999]);
    expect(score.values).toEqual([1.5, null, null, null]);
    expect(score.statuses).toEqual(['PRESENT', 'OUTSIDE_MAX_AGE', 'NULL_VALUE', 'NOT_FOUND']);
    expect(tier.values).toEqual(['gold', null, 'silver', null]);
    expect(tier.statuses).toEqual(['PRESENT', 'OUTSIDE_MAX_AGE', 'PRESENT', 'NOT_FOUND']);
    expect(score.event_timestamps).toEqual([ago(120), ago(3 * 24 * 60), ago(60), null]);
  });

  it('names outputs view__feature with full_feature_names', async () => {
    const res = await online(['stats:tier'], [1], { full_feature_names: true });
    expect(res.json.metadata.feature_names).toEqual(['user_id', 'stats__tier']);
  });

  it.each([
    ['an unknown feature', { features: ['stats:nope'], entities: { user_id: [1] } }, /'nope'.*stats/],
    ['an unknown view', { features: ['nothing:x'], entities: { user_id: [1] } }, /'nothing'/],
    [
      'a string for an int64 join key',
      { features: ['stats:score'], entities: { user_id: ['1'] } },
      /entities\.user_id\[0\].*int64/,
    ],
    [
      'a missing join key',
      { features: ['stats:score'], entities: { customer: [1] } },
      /missing join key 'user_id'/,
    ],
    [
      'more than 1000 entity rows',
      { features: ['stats:score'], entities: { user_id: Array.from({ length: 1001 }, (_, i) => i) } },
      /entities\.user_id.*at most 1000/,
    ],
  ])('answers 400 naming the culprit for %s', async (_, body, message) => {
    const res = await post('get-online-features', body);
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(message);
  });
});

describe('POST /features/push', () => {
  it('writes to the online store only, and an older push never replaces a newer value', async () => {
    const before = await offlineClickBatches();
    const res = await post('push', {
      push_source_name: 'clicks',
      df: { user_id: [10, 11], ts: [ago(2), ago(2)], n: [5, 6] },
      to: 'online',
    });
    expect(res.json).toEqual({ rows: 2, views: ['clicks'], written: 2, to: 'online' });
    expect(await clicksOf([10, 11])).toMatchObject({ values: [5, 6], statuses: ['PRESENT', 'PRESENT'] });
    const older = await post('push', {
      push_source_name: 'clicks',
      df: { user_id: [10], ts: [ago(30)], n: [99] },
    });
    expect(older.json.written).toBe(0);
    expect((await clicksOf([10])).values).toEqual([5]);
    expect(await offlineClickBatches()).toBe(before);
  });

  it('writes to the offline store only', async () => {
    const before = await offlineClickBatches();
    const res = await post('push', {
      push_source_name: 'clicks',
      df: { user_id: [12], ts: [ago(1)], n: [7] },
      to: 'offline',
    });
    expect(res.status).toBe(200);
    expect((await clicksOf([12])).statuses).toEqual(['NOT_FOUND']);
    const batches = await committedBatches(store, BUCKET, 'clicks');
    expect(batches.length).toBe(before + 1);
    expect(batches.map((b) => b.rows)).toContain(1);
  });

  it('writes to both stores', async () => {
    const before = await offlineClickBatches();
    await post('push', {
      push_source_name: 'clicks',
      df: { user_id: [13, 13], ts: [ago(3), ago(1)], n: [1, 8] },
      to: 'online_and_offline',
    });
    expect((await clicksOf([13])).values).toEqual([8]);
    expect(await offlineClickBatches()).toBe(before + 1);
  });

  it('refuses a malformed batch whole, naming the culprit, and writes nothing anywhere', async () => {
    const before = await offlineClickBatches();
    const bad = await post('push', {
      push_source_name: 'clicks',
      df: { user_id: [14, 15], ts: [ago(1), ago(1)], n: [9, 'nine'] },
      to: 'online_and_offline',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/nothing written.*'n'/);
    const ragged = await post('push', {
      push_source_name: 'clicks',
      df: { user_id: [16, 17], ts: [ago(1)], n: [1, 2] },
    });
    expect(ragged.status).toBe(400);
    expect(ragged.json.message).toMatch(/df\.ts has 1 value/);
    const unknownColumn = await post('push', { push_source_name: 'clicks', df: { user_id: [18] }, to: 'x' });
    expect(unknownColumn.status).toBe(400);
    expect(unknownColumn.json.message).toMatch(/'to'/);
    expect((await clicksOf([14, 15, 16, 17])).statuses).toEqual(Array(4).fill('NOT_FOUND'));
    expect(await offlineClickBatches()).toBe(before);
    expect(existsSync(join(process.env.MLOPS_LOCAL_S3_ROOT ?? '', BUCKET, 'quarantine', 'clicks'))).toBe(
      false,
    );
  });
});
