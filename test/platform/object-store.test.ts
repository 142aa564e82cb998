import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';

const root = mkdtempSync(join(tmpdir(), 'mlops-store-'));
const store = new FsObjectStore(root);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the filesystem object store', () => {
  it('round-trips bytes and reports size', async () => {
    await store.put('b', 'a/b/c.bin', new Uint8Array([1, 2, 3]));
    expect([...((await store.get('b', 'a/b/c.bin')) ?? [])]).toEqual([1, 2, 3]);
    expect((await store.head('b', 'a/b/c.bin'))?.size).toBe(3);
    expect(await store.get('b', 'a/missing')).toBeUndefined();
  });

  it('lists by prefix in key order, across directories', async () => {
    for (const k of ['p/2.txt', 'p/1.txt', 'p/sub/3.txt', 'px.txt', 'q/4.txt']) await store.put('l', k, k);
    expect((await store.list('l', 'p/')).map((o) => o.key)).toEqual(['p/1.txt', 'p/2.txt', 'p/sub/3.txt']);
    expect((await store.list('l', 'p')).map((o) => o.key)).toEqual([
      'p/1.txt',
      'p/2.txt',
      'p/sub/3.txt',
      'px.txt',
    ]);
    expect(await store.list('l', 'nothing/')).toEqual([]);
  });

  it('creates only once with ifNoneMatch, so a retried create is idempotent', async () => {
    expect(await store.put('c', 'once', 'first', { ifNoneMatch: true })).toBe(true);
    expect(await store.put('c', 'once', 'second', { ifNoneMatch: true })).toBe(false);
    expect(Buffer.from((await store.get('c', 'once')) ?? []).toString()).toBe('first');
  });

  it('leaves no temporary files behind after writes', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('t', `k${i % 3}`, `v${i}`)));
    expect(readdirSync(join(root, '.tmp'))).toEqual([]);
    expect((await store.list('t', '')).length).toBe(3);
  });

  it('refuses keys that escape the bucket', async () => {
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a/./b', '']) {
      await expect(store.put('b', key, 'x')).rejects.toThrow(RangeError);
    }
    await expect(store.get('..', 'x')).rejects.toThrow(RangeError);
  });

  it('deletes idempotently', async () => {
    await store.put('d', 'x', 'y');
    await store.delete('d', 'x');
    await store.delete('d', 'x');
    expect(await store.head('d', 'x')).toBeUndefined();
  });
});
