import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeLabels } from '../../lambdas/monitoring/labels/labels';
import type { PredictionIndex } from '../../lambdas/monitoring/labels/prediction-index';
import { postLabelsRoute } from '../../lambdas/monitoring/labels/routes';
import { bind } from '../../lambdas/platform/http/route';
import { httpApi } from '../../lambdas/platform/http/router';
import { invoke } from '../serving/support';
import { logged, startIndex } from './labels-support';

const DAY = 86_400_000;
let env: Awaited<ReturnType<typeof startIndex>>;
let index: PredictionIndex;
let api: ReturnType<typeof httpApi>;
const t0 = Date.now() - 10 * DAY;

const post = (body: unknown) => invoke(api, 'POST', '/v1/labels', {}, body);

beforeAll(async () => {
  env = await startIndex();
  index = env.index;
  // The route as the handler binds it (lambdas/monitoring/api/handler.ts), on this index.
  api = httpApi([bind(postLabelsRoute, (req) => storeLabels(index, req))]);
  await index.write([
    ...logged('one', t0, '3', [0.8]),
    ...logged('two', t0 + 1000, '3', [0.2]),
    ...logged('batch', t0 + 2000, '3', [0.1, 0.9, 0.4]),
    ...logged(
      'big',
      t0 + 3000,
      '4',
      Array.from({ length: 250 }, (_, i) => (i % 10) / 10),
    ),
  ]);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

describe('POST /v1/labels', () => {
  it('stores a label per request id, one per row for batch requests, booleans as 0/1', async () => {
    const res = await post({
      labels: [
        { request_id: 'one', label: true },
        { request_id: 'batch', label: [0, 1, 1], timestamp: '2026-11-30T10:00:00Z' },
        { request_id: 'big', label: Array.from({ length: 250 }, (_, i) => i % 2) },
      ],
    });
    expect(res).toMatchObject({ status: 200, json: { received: 3, written: 3, unchanged: 0 } });
    const stored = await index.labels(['one', 'batch', 'big']);
    expect(stored.get('one')?.values).toEqual([1]);
    expect(stored.get('batch')).toMatchObject({
      values: [0, 1, 1],
      observedAt: Date.parse('2026-11-30T10:00:00Z'),
    });
    expect(stored.get('big')?.values).toHaveLength(250);
  });

  it('is idempotent: the same labels again change nothing and answer 200', async () => {
    const res = await post({
      labels: [
        { request_id: 'one', label: 1 },
        { request_id: 'batch', label: [false, true, true] },
      ],
    });
    expect(res).toMatchObject({ status: 200, json: { received: 2, written: 0, unchanged: 2 } });
  });

  it('answers 409 naming an id labelled differently, and writes nothing of the batch', async () => {
    const res = await post({
      labels: [
        { request_id: 'two', label: 1 },
        { request_id: 'one', label: 0 },
      ],
    });
    expect(res.status).toBe(409);
    expect(res.json.error_code).toBe('RESOURCE_CONFLICT');
    expect(res.json.message).toMatch(/'one' already has a different label; send "replace": true/);
    // 'two' was valid but the batch was refused whole.
    expect((await index.labels(['two', 'one'])).get('two')).toBeUndefined();
    expect((await index.labels(['one'])).get('one')?.values).toEqual([1]);
  });

  it('replaces a differing label when asked to (a correction)', async () => {
    const res = await post({
      labels: [
        { request_id: 'one', label: 0 },
        { request_id: 'two', label: 1 },
      ],
      replace: true,
    });
    expect(res).toMatchObject({ status: 200, json: { received: 2, written: 2, unchanged: 0 } });
    const stored = await index.labels(['one', 'two']);
    expect(stored.get('one')?.values).toEqual([0]);
    expect(stored.get('two')?.values).toEqual([1]);
  });

  it('answers 404 naming unknown request ids, and writes nothing of the batch', async () => {
    const res = await post({
      labels: [
        { request_id: 'batch', label: [1, 1, 1] },
        { request_id: 'nope-1', label: 1 },
        { request_id: 'nope-2', label: 0 },
      ],
      replace: true,
    });
    expect(res.status).toBe(404);
    expect(res.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(res.json.message).toMatch(/'nope-1', 'nope-2'.*nothing was stored/);
    expect((await index.labels(['batch'])).get('batch')?.values).toEqual([0, 1, 1]);
  });

  it('answers 400 for a label count that differs from the rows the request scored', async () => {
    const scalar = await post({ labels: [{ request_id: 'batch', label: 1 }] });
    expect(scalar.status).toBe(400);
    expect(scalar.json.message).toMatch(/'batch' scored 3 rows: send an array of 3 labels/);
    const many = await post({ labels: [{ request_id: 'two', label: [1, 0] }] });
    expect(many.status).toBe(400);
    expect(many.json.message).toMatch(/'two' scored 1 row: send one label, not 2/);
  });

  it('answers 400 for malformed batches: empty, over 1,000, an id twice with different labels, bad values', async () => {
    expect((await post({ labels: [] })).status).toBe(400);
    const tooMany = await post({
      labels: Array.from({ length: 1001 }, (_, i) => ({ request_id: `r${i}`, label: 1 })),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.message).toMatch(/at most 1000/);
    const twice = await post({
      labels: [
        { request_id: 'two', label: 1 },
        { request_id: 'two', label: 0 },
      ],
    });
    expect(twice.status).toBe(400);
    expect(twice.json.message).toMatch(/'two' appears twice with different labels/);
    expect((await post({ labels: [{ request_id: 'two', label: 'yes' }] })).status).toBe(400);
    expect(
      (await post({ labels: [{ request_id: 'two', label: 1, timestamp: 'last tuesday' }] })).status,
    ).toBe(400);
    expect((await post({ labels: [{ request_id: 'two', label: 1 }], extra: 1 })).status).toBe(400);
  });
});

describe('the prediction index as a sink of the log shipper', () => {
  it('takes a redelivered batch without change, and never touches a stored label', async () => {
    const before = await index.labels(['one']);
    await index.write(logged('one', t0, '3', [0.8]));
    await index.write(logged('one', t0, '3', [0.8]));
    expect(await index.labels(['one'])).toEqual(before);
    expect((await index.requests(['one'])).get('one')).toMatchObject({
      version: '3',
      rows: 1,
      timestamp: t0,
    });
  });

  it('ignores failed requests (no predictions to join a label to)', async () => {
    await index.write([{ ...logged('failed', t0, '3', [])[0]!, status: 503, predictions: [] }]);
    expect((await index.requests(['failed'])).size).toBe(0);
  });

  it('forgets a prediction past its retention: its label is then an unknown id', async () => {
    const short = await startIndex(30);
    try {
      await short.index.write([
        ...logged('old', Date.now() - 31 * DAY, '1', [0.5]),
        ...logged('new', Date.now() - DAY, '1', [0.5]),
      ]);
      await expect(storeLabels(short.index, { labels: [{ request_id: 'old', label: 1 }] })).rejects.toThrow(
        /No logged prediction for request id 'old'.*retention/,
      );
      expect(await storeLabels(short.index, { labels: [{ request_id: 'new', label: 1 }] })).toMatchObject({
        written: 1,
      });
    } finally {
      await short.close();
    }
  }, 60_000);
});
