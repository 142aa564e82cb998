import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  finishViewRun,
  materialize,
  materializeChunk,
  materializeIncremental,
  planMaterialization,
  planViewRun,
} from '../../../lambdas/features/online/materialize';
import { getOnlineFeatures } from '../../../lambdas/features/online/retrieval';
import { ConflictError, InvalidParameterError } from '../../../lambdas/platform/errors';
import { BUCKET, makeOnlineWorld, type OnlineWorld, us } from './support';

// Two views over the same entity: one fed by batch files (BatchWrite path), one by a push source
// (conditional-write path), so both write paths face the same reruns and out-of-order data.
const definitions = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: ['file', 'push'].map((kind) => ({
    name: `scores_${kind}`,
    kind,
    ...(kind === 'file' ? { format: 'csv', path: 'unused.csv' } : {}),
    columns: [
      { name: 'user_id', type: 'int64' },
      { name: 'ts', type: 'timestamp' },
      { name: 'score', type: 'float64' },
    ],
  })),
  featureViews: ['file', 'push'].map((kind) => ({
    name: `scores_${kind}`,
    entities: ['user'],
    source: `scores_${kind}`,
    timestampField: 'ts',
    features: [{ name: 'score', type: 'float64' }],
  })),
};

let w: OnlineWorld;
beforeAll(async () => {
  w = await makeOnlineWorld(definitions);
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
const read = async (view: string, users: number[]) =>
  (
    await getOnlineFeatures(
      { repo: w.repo, table: w.table },
      { features: [`${view}:score`], entities: { user_id: users } },
    )
  ).results[1]?.values;

describe.each(['file', 'push'])('materializing a view fed by a %s source', (kind) => {
  const view = `scores_${kind}`;
  const users = Array.from({ length: 120 }, (_, i) => i + 1);

  it('writes the latest value per key, and a rerun of the same window writes nothing', async () => {
    await w.ingest(view, [
      ...users.map((u) => ({ user_id: u, ts: '2024-05-01T10:00:00Z', score: u })),
      // A later row for user 1 in the window, and one after the window's end that must not show.
      { user_id: 1, ts: '2024-05-01T11:00:00Z', score: 1001 },
      { user_id: 1, ts: '2024-05-03T00:00:00Z', score: 9999 },
    ]);
    const window = { views: [view], start: us('2024-05-01T00:00:00Z'), end: us('2024-05-02T00:00:00Z') };
    const first = await materialize(deps(), window);
    expect(first.views[0]).toMatchObject({ keys: 120, written: 120, skipped: 0 });
    expect(await read(view, [1, 2, 120])).toEqual([1001, 2, 120]);
    const again = await materialize(deps(), window);
    expect(again.views[0]).toMatchObject({ keys: 120, written: 0, skipped: 120 });
    expect(await read(view, [1, 2, 120])).toEqual([1001, 2, 120]);
  });

  it('never lets an older window overwrite a newer value (out-of-order runs)', async () => {
    await materialize(deps(), {
      views: [view],
      start: us('2024-05-02T00:00:00Z'),
      end: us('2024-05-04T00:00:00Z'),
    });
    expect(await read(view, [1])).toEqual([9999]);
    // Re-materializing the older window afterwards must keep 9999, not go back to 1001.
    const old = await materialize(deps(), {
      views: [view],
      start: us('2024-05-01T00:00:00Z'),
      end: us('2024-05-02T00:00:00Z'),
    });
    expect(old.views[0]?.written).toBe(0);
    expect(await read(view, [1])).toEqual([9999]);
  });

  it('resumes an interrupted run: finished chunks are kept, the watermark moves only at the end', async () => {
    await w.ingest(
      view,
      users.map((u) => ({ user_id: u, ts: '2024-05-05T10:00:00Z', score: 10_000 + u })),
    );
    const start = us('2024-05-05T00:00:00Z');
    const end = us('2024-05-06T00:00:00Z');
    const d = deps({ chunkKeys: 30 });
    const run = await planViewRun(d, view, start, end);
    expect(run.chunks).toBe(4);
    await materializeChunk(d, run, 0);
    await materializeChunk(d, run, 2);
    // Finishing now would move the watermark past chunks 1 and 3: refused.
    await expect(finishViewRun(d, run)).rejects.toThrow(/chunk\(s\) 1, 3 not done/);
    // ...the process dies here: no finish. The watermark stays where the last full run left it.
    expect((await w.table.getState(view)).watermark).toBe(us('2024-05-04T00:00:00Z'));
    // Another run of a different window is refused while the lease holds.
    await expect(planViewRun(d, view, us('2024-05-04T00:00:00Z'), end)).rejects.toThrow(/being materialized/);
    // The rerun of the same command resumes with the two finished chunks, then completes.
    const resumed = await planViewRun(d, view, start, end);
    expect([...resumed.done].sort()).toEqual([0, 2]);
    for (const c of [1, 3]) await materializeChunk(d, resumed, c);
    await finishViewRun(d, resumed);
    expect((await w.table.getState(view)).watermark).toBe(end);
    expect(await read(view, users)).toEqual(users.map((u) => 10_000 + u));
  });

  it('materializes incrementally from the watermark', async () => {
    await w.ingest(view, [{ user_id: 7, ts: '2024-05-07T10:00:00Z', score: 77 }]);
    const r = await materializeIncremental(deps(), { views: [view], end: us('2024-05-08T00:00:00Z') });
    // Only the one key with a row since the watermark (2024-05-06) is read.
    expect(r.views[0]).toMatchObject({ start: '2024-05-06T00:00:00.000Z', keys: 1, written: 1 });
    expect((await w.table.getState(view)).watermark).toBe(us('2024-05-08T00:00:00Z'));
    expect(await read(view, [7, 8])).toEqual([77, 10_008]);
  });

  it('stops a chunk whose lease expired and was taken by another run, before it writes', async () => {
    await w.ingest(view, [{ user_id: 500, ts: '2024-05-09T10:00:00Z', score: 5 }]);
    let now = Date.parse('2024-06-01T00:00:00Z');
    const d = deps({ now: () => new Date(now), leaseMs: 60_000 });
    const slow = await planViewRun(d, view, us('2024-05-09T00:00:00Z'), us('2024-05-10T00:00:00Z'));
    now += 120_000; // the slow run's lease ran out before its chunk got going...
    const other = await planViewRun(d, view, us('2024-05-08T00:00:00Z'), us('2024-05-10T00:00:00Z'));
    // ...and the other run owns the view now: the slow chunk must not write beside it.
    await expect(materializeChunk(d, slow, 0)).rejects.toThrow(/no longer holds the view's lease/);
    expect(await read(view, [500])).toEqual([null]);
    await materializeChunk(d, other, 0);
    await finishViewRun(d, other);
    expect(await read(view, [500])).toEqual([5]);
  });
});

describe('materialize input', () => {
  it('rejects an end before the start and an unknown view before writing', async () => {
    await expect(planViewRun(deps(), 'scores_file', 10, 5)).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(materialize(deps(), { views: ['nope'], start: 0, end: 1 })).rejects.toThrow(
      /feature view 'nope' not found/,
    );
  });
});

describe('a long materialization chunk', () => {
  it('renews its lease while it works, so every write falls within the lease', async () => {
    const view = 'scores_file';
    const keys = Array.from({ length: 400 }, (_, i) => 2000 + i);
    await w.ingest(
      view,
      keys.map((u) => ({ user_id: u, ts: '2024-05-20T10:00:00Z', score: u })),
    );
    const window = { start: us('2024-05-20T00:00:00Z'), end: us('2024-05-21T00:00:00Z') };
    let now = Date.parse('2024-08-01T00:00:00Z');
    const fast = deps({ now: () => new Date(now) });
    await materialize(fast, { views: [view], ...window });
    // The rerun reads every stored version (nothing is later than its floor), 100 keys per
    // read, one read at a time, and each read takes a minute: the chunk outlives its
    // 150-second lease. Each write checks the stored lease against the clock.
    const outside: number[] = [];
    const table = new Proxy(w.table, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (key === 'getVersions') now += 60_000;
          if (key === 'putItems') {
            const s = await target.getState(view);
            if (!(s.run && s.run.leaseUntil >= now)) outside.push(now);
          }
          return value.apply(target, args);
        };
      },
    });
    const slow = deps({ now: () => new Date(now), leaseMs: 150_000, concurrency: 1, table });
    const run = await planViewRun(slow, view, window.start, window.end);
    const started = now;
    const r = await materializeChunk(slow, run, 0);
    expect(r).toMatchObject({ written: 0, skipped: 400 });
    expect(now - started).toBeGreaterThan(150_000);
    expect(outside).toEqual([]);
    await finishViewRun(slow, run);
  });
});

describe('planning a scheduled materialization', () => {
  it('plans every view, leaves a view another run is writing as busy, and lists only the chunks not yet done', async () => {
    const start = us('2024-07-01T00:00:00Z');
    const end = us('2024-07-02T00:00:00Z');
    const users = Array.from({ length: 90 }, (_, i) => 3000 + i);
    for (const view of ['scores_file', 'scores_push'])
      await w.ingest(
        view,
        users.map((u) => ({ user_id: u, ts: '2024-07-01T10:00:00Z', score: u })),
      );
    const d = deps({ chunkKeys: 30 });
    // An earlier attempt of this window finished chunk 1 of the file view...
    const earlier = await planViewRun(d, 'scores_file', start, end);
    await materializeChunk(d, earlier, 1);
    // ...while a run of another window holds the push view's lease.
    await planViewRun(d, 'scores_push', us('2024-06-30T00:00:00Z'), end);

    const plan = await planMaterialization(d, { start, end });
    expect(plan.busy).toEqual(['scores_push']);
    expect(plan.runs.map((r) => [r.view, r.runId, r.chunks])).toEqual([['scores_file', earlier.runId, 3]]);
    expect(plan.tasks).toEqual([
      { run: 0, chunk: 0 },
      { run: 0, chunk: 2 },
    ]);
    // A view named by the caller is not left for later: the conflict fails the plan.
    await expect(planMaterialization(d, { views: ['scores_push'], start, end })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });
});
