import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../../lambdas/platform/errors';
import { BATCH_LIMITS, chunkBatch } from '../../../lambdas/tracking/client/batch';
import { resolveConnection } from '../../../lambdas/tracking/client/connection';
import { collectPages, filterLiteral } from '../../../lambdas/tracking/client/paging';

const kv = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: String(i) }));
const points = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `m${i % 3}`, value: i, step: i }));

describe('chunkBatch', () => {
  it('keeps every chunk within MLflow limits and loses, reorders or repeats nothing', () => {
    fc.assert(
      fc.property(fc.nat(2600), fc.nat(260), fc.nat(260), (nm, np, nt) => {
        const batch = { metrics: points(nm), params: kv('p', np), tags: kv('t', nt) };
        const chunks = chunkBatch(batch);
        for (const c of chunks) {
          expect(c.metrics.length).toBeLessThanOrEqual(BATCH_LIMITS.metrics);
          expect(c.params.length).toBeLessThanOrEqual(BATCH_LIMITS.params);
          expect(c.tags.length).toBeLessThanOrEqual(BATCH_LIMITS.tags);
          expect(c.metrics.length + c.params.length + c.tags.length).toBeLessThanOrEqual(BATCH_LIMITS.total);
          expect(c.metrics.length + c.params.length + c.tags.length).toBeGreaterThan(0);
        }
        expect(chunks.flatMap((c) => c.metrics)).toEqual(batch.metrics);
        expect(chunks.flatMap((c) => c.params)).toEqual(batch.params);
        expect(chunks.flatMap((c) => c.tags)).toEqual(batch.tags);
      }),
      { numRuns: 60 },
    );
  });

  it('fills each request: 250 params, 230 tags and 2,345 metrics take three requests', () => {
    const chunks = chunkBatch({ metrics: points(2345), params: kv('p', 250), tags: kv('t', 230) });
    expect(chunks.map((c) => [c.params.length, c.tags.length, c.metrics.length])).toEqual([
      [100, 100, 800],
      [100, 100, 800],
      [50, 30, 745],
    ]);
  });

  it('refuses one param with two values before anything is sent, and sends a repeated identical one once', () => {
    const params = [...kv('p', 150), { key: 'p3', value: 'other' }];
    expect(() => chunkBatch({ params })).toThrow(InvalidParameterError);
    expect(() => chunkBatch({ params })).toThrow(/param 'p3' is given twice/);
    const repeated = chunkBatch({ params: [...kv('p', 2), { key: 'p1', value: '1' }] });
    expect(repeated.flatMap((c) => c.params)).toEqual(kv('p', 2));
  });
});

describe('resolveConnection', () => {
  it('takes --api-url over MLOPS_API_URL over the local gateway', () => {
    const env = { MLOPS_API_URL: 'http://10.0.0.1:9000/' };
    expect(resolveConnection({ apiUrl: 'http://localhost:1234', env })).toEqual({
      url: 'http://localhost:1234',
    });
    expect(resolveConnection({ env })).toEqual({ url: 'http://10.0.0.1:9000' });
    expect(resolveConnection({ env: {} })).toEqual({ url: 'http://127.0.0.1:4566' });
  });

  it('signs for execute-api hosts in their region, or when MLOPS_API_SIGV4=true', () => {
    expect(
      resolveConnection({ apiUrl: 'https://a1b2c3.execute-api.eu-west-3.amazonaws.com/prod', env: {} }),
    ).toEqual({ url: 'https://a1b2c3.execute-api.eu-west-3.amazonaws.com/prod', signRegion: 'eu-west-3' });
    expect(
      resolveConnection({
        apiUrl: 'https://mlops.example.com',
        env: { MLOPS_API_SIGV4: 'true', AWS_REGION: 'ap-south-1' },
      }).signRegion,
    ).toBe('ap-south-1');
    expect(resolveConnection({ apiUrl: 'https://mlops.example.com', env: {} }).signRegion).toBeUndefined();
    expect(
      resolveConnection({
        apiUrl: 'https://a1b2c3.execute-api.eu-west-3.amazonaws.com/prod',
        env: { MLOPS_API_SIGV4: 'false' },
      }).signRegion,
    ).toBeUndefined();
  });

  it('names the setting that holds a malformed URL', () => {
    expect(() => resolveConnection({ env: { MLOPS_API_URL: 'localhost:4566' } })).toThrow(
      /MLOPS_API_URL 'localhost:4566' must start with http/,
    );
    expect(() => resolveConnection({ apiUrl: 'not a url', env: {} })).toThrow(
      /--api-url 'not a url' is not a URL/,
    );
  });
});

describe('collectPages', () => {
  it('follows tokens, asks only for what is still wanted and stops at max', async () => {
    const data = Array.from({ length: 10 }, (_, i) => i);
    const asked: number[] = [];
    const page = async (token: string | undefined, size: number) => {
      asked.push(size);
      const at = Number(token ?? 0);
      const items = data.slice(at, at + size);
      return { items, next: at + size < data.length ? String(at + size) : undefined };
    };
    expect(await collectPages(page, { pageSize: 4 })).toEqual(data);
    expect(asked).toEqual([4, 4, 4]);
    asked.length = 0;
    expect(await collectPages(page, { pageSize: 4, max: 6 })).toEqual([0, 1, 2, 3, 4, 5]);
    expect(asked).toEqual([4, 2]);
  });

  it('quotes filter literals so quotes and backslashes survive', () => {
    expect(filterLiteral("it's a\\b")).toBe("'it\\'s a\\\\b'");
  });
});
