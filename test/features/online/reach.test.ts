import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRepo, type FeatureRepo } from '../../../lambdas/features/definitions/repo';
import { materialize, materializeChunk, planViewRun } from '../../../lambdas/features/online/materialize';
import { itemKey, NO_CREATED } from '../../../lambdas/features/online/online-item';
import { pushRows } from '../../../lambdas/features/online/push';
import { getOnlineFeatures } from '../../../lambdas/features/online/retrieval';
import { BUCKET, makeOnlineWorld, type OnlineWorld, us } from './support';

// Each test has its own view. Every view is defined twice over the same table: fed by a file
// source (materialized) and, as after a registry change, by a push source (pushed). Pushes are
// the only writer besides runs whose items a file-fed view can meet, so they are what a skipped
// version read could miss.
const VIEWS = ['forward', 'late', 'pushed', 'crashed', 'ties', 'legacy'];
const definitions = (kind: 'file' | 'push') => ({
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: VIEWS.map((name) => ({
    name,
    kind,
    ...(kind === 'file' ? { format: 'csv', path: 'unused.csv' } : {}),
    columns: [
      { name: 'user_id', type: 'int64' },
      { name: 'ts', type: 'timestamp' },
      { name: 'created', type: 'timestamp' },
      { name: 'score', type: 'float64' },
    ],
  })),
  featureViews: VIEWS.map((name) => ({
    name,
    entities: ['user'],
    source: name,
    timestampField: 'ts',
    createdTimestampField: 'created',
    features: [{ name: 'score', type: 'float64' }],
  })),
});

let w: OnlineWorld;
let pushRepo: FeatureRepo;
/** BatchGetItem requests sent so far: the version reads the skip avoids. */
let versionReads = 0;
beforeAll(async () => {
  w = await makeOnlineWorld(definitions('file'));
  pushRepo = buildRepo({ file: definitions('push') });
  w.doc.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchGetItemCommand') versionReads++;
      return next(args);
    },
    { step: 'initialize', name: 'countVersionReads' },
  );
});
afterAll(() => w.close());

const deps = (extra: Record<string, unknown> = {}) => ({
  repo: w.repo,
  engine: w.engine,
  store: w.store,
  bucket: BUCKET,
  table: w.table,
  ...extra,
});
const users = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const rows = (ids: number[], ts: string, score: (u: number) => number, created = ts) =>
  ids.map((u) => ({ user_id: u, ts, created, score: score(u) }));
const read = async (view: string, ids: number[]) =>
  (
    await getOnlineFeatures(
      { repo: w.repo, table: w.table },
      { features: [`${view}:score`], entities: { user_id: ids } },
    )
  ).results[1]?.values;
/** Materializes one window and counts the version reads it made. */
const run = async (view: string, start: string, end: string, extra: Record<string, unknown> = {}) => {
  const before = versionReads;
  const r = await materialize(deps(extra), { views: [view], start: us(start), end: us(end) });
  return { ...r.views[0], reads: versionReads - before };
};
const push = (view: string, df: ReturnType<typeof rows>) =>
  pushRows(
    { repo: pushRepo, engine: w.engine, store: w.store, bucket: BUCKET, table: w.table },
    {
      push_source_name: view,
      df: Object.fromEntries(
        ['user_id', 'ts', 'created', 'score'].map((c) => [c, df.map((r) => r[c as keyof (typeof df)[0]])]),
      ),
    },
  );

describe('skipping version reads when a run moves forward in time', () => {
  it('writes a first load and a later window without reading versions, and a rerun reads', async () => {
    await w.ingest(
      'forward',
      rows(users(300), '2024-05-01T10:00:00Z', (u) => u),
    );
    const first = await run('forward', '2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z');
    expect(first).toMatchObject({ keys: 300, written: 300, blind: 300, reads: 0 });
    expect((await w.table.getState('forward')).reach).toBe(us('2024-05-01T10:00:00Z'));

    // The next day's rows for the even users: all later than the reach, so no reads either.
    const even = users(300).filter((u) => u % 2 === 0);
    await w.ingest(
      'forward',
      rows(even, '2024-05-02T10:00:00Z', (u) => 1000 + u),
    );
    const second = await run('forward', '2024-05-02T00:00:00Z', '2024-05-03T00:00:00Z');
    expect(second).toMatchObject({ keys: 150, written: 150, blind: 150, reads: 0 });
    expect(await read('forward', [1, 2, 299, 300])).toEqual([1, 1002, 299, 1300]);

    // The same window again is not later than the reach: versions are read, nothing is written.
    const again = await run('forward', '2024-05-02T00:00:00Z', '2024-05-03T00:00:00Z');
    expect(again).toMatchObject({ keys: 150, written: 0, skipped: 150, blind: 0 });
    expect(again.reads).toBeGreaterThan(0);
    expect(await read('forward', [1, 2, 299, 300])).toEqual([1, 1002, 299, 1300]);
  });

  it('raises the reach before writing rows ingested after the plan', async () => {
    await w.ingest(
      'late',
      rows(users(5), '2024-05-11T10:00:00Z', (u) => u),
    );
    const d = deps();
    const run = await planViewRun(d, 'late', us('2024-05-11T00:00:00Z'), us('2024-05-12T00:00:00Z'));
    expect(run.reach).toBe(us('2024-05-11T10:00:00Z'));
    await w.ingest(
      'late',
      rows([6], '2024-05-11T20:00:00Z', () => 6),
    );
    const r = await materializeChunk(d, run, 0);
    expect(r).toMatchObject({ written: 6, blind: 6 });
    // Otherwise a later run at 15:00 would count as newer than everything and skip user 6's read.
    expect((await w.table.getState('late')).reach).toBe(us('2024-05-11T20:00:00Z'));
  });
});

describe('reading versions when a newer item may be stored', () => {
  it('after a push of newer data: the pushed value stays, the others are updated', async () => {
    await w.ingest(
      'pushed',
      rows(users(40), '2024-05-01T10:00:00Z', (u) => u),
    );
    await run('pushed', '2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z');
    // A push newer than the next batch: it raises the reach before writing.
    await push(
      'pushed',
      rows([1], '2024-05-03T00:00:00Z', () => 999),
    );
    expect((await w.table.getState('pushed')).reach).toBe(us('2024-05-03T00:00:00Z'));

    await w.ingest(
      'pushed',
      rows(users(40), '2024-05-02T10:00:00Z', (u) => 100 + u),
    );
    const r = await run('pushed', '2024-05-02T00:00:00Z', '2024-05-03T00:00:00Z');
    expect(r).toMatchObject({ keys: 40, written: 39, skipped: 1, blind: 0 });
    expect(r.reads).toBeGreaterThan(0);
    expect(await read('pushed', [1, 2, 40])).toEqual([999, 102, 140]);
  });

  it('after a crashed run wrote newer items: an older window keeps them', async () => {
    const ids = users(60);
    await w.ingest('crashed', [
      ...rows(ids, '2024-05-04T10:00:00Z', (u) => u),
      ...rows(ids, '2024-05-05T10:00:00Z', (u) => 500 + u),
    ]);
    // Run A over the newer day writes one of its two chunks, then dies (no finish).
    const d = deps({ chunkKeys: 30 });
    const a = await planViewRun(d, 'crashed', us('2024-05-05T00:00:00Z'), us('2024-05-06T00:00:00Z'));
    expect(a.chunks).toBe(2);
    const partial = await materializeChunk(d, a, 0);
    expect(partial.blind).toBe(partial.written);
    const afterCrash = (await read('crashed', ids)) as (number | null)[];
    const byA = ids.filter((u, i) => afterCrash[i] === 500 + u);
    expect(byA.length).toBeGreaterThan(0);
    expect(byA.length).toBeLessThan(60);

    // Once A's lease has expired, run B materializes the older day: A's items must survive.
    const later = new Date(Date.now() + 60 * 60_000);
    const b = await run('crashed', '2024-05-04T00:00:00Z', '2024-05-05T00:00:00Z', { now: () => later });
    expect(b).toMatchObject({ keys: 60, written: 60 - byA.length, skipped: byA.length, blind: 0 });
    expect(await read('crashed', ids)).toEqual(ids.map((u) => (byA.includes(u) ? 500 + u : u)));
  });

  it('on equal event times: the created time decides, and only strictly later items skip the read', async () => {
    const t = '2024-05-07T10:00:00Z';
    // Pushed first at time t: user 1 created later than the batch row, user 2 earlier.
    await push('ties', [
      ...rows([1], t, () => 999, '2024-05-07T12:00:00Z'),
      ...rows([2], t, () => 888, '2024-05-07T10:30:00Z'),
    ]);
    expect((await w.table.getState('ties')).reach).toBe(us(t));
    await w.ingest('ties', [
      ...rows(users(10), t, (u) => u, '2024-05-07T11:00:00Z'),
      ...rows([11, 12], '2024-05-07T11:00:00Z', (u) => u),
    ]);
    const r = await run('ties', '2024-05-07T00:00:00Z', '2024-05-08T00:00:00Z');
    // Users 1-10 sit exactly at the reach: read. Users 11-12 are later: written without a read.
    expect(r).toMatchObject({ keys: 12, written: 11, skipped: 1, blind: 2 });
    expect(await read('ties', users(12))).toEqual([999, ...users(12).slice(1)]);
  });

  it('reads every version of a view materialized before reaches were kept', async () => {
    // What the earlier code left: an item newer than the batch below, a watermark and no reach.
    const old = { ets: us('2024-05-08T12:00:00Z'), cts: NO_CREATED, asof: 0 };
    await w.table.putItems([{ pk: itemKey('legacy', '1'), ...old, attrs: { f_score: 999 } }]);
    await w.doc.send(
      new PutCommand({
        TableName: w.table.tableName,
        Item: { pk: '_materialization#legacy', sk: 'state', watermark: us('2024-05-09T00:00:00Z') },
      }),
    );
    await w.ingest(
      'legacy',
      rows(users(5), '2024-05-08T10:00:00Z', (u) => u),
    );
    const r = await run('legacy', '2024-05-08T00:00:00Z', '2024-05-09T00:00:00Z');
    expect(r).toMatchObject({ keys: 5, written: 4, blind: 0 });
    expect(await read('legacy', users(5))).toEqual([999, 2, 3, 4, 5]);
    // From now on the reach covers the old items too (at least the watermark).
    expect((await w.table.getState('legacy')).reach).toBe(us('2024-05-09T00:00:00Z'));
  });
});
