import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import type { ObjectStore } from '../../lambdas/platform/object-store';
import { S3ObjectStore } from '../../lambdas/platform/s3-object-store';
import { type RunningS3rver, startS3rver } from '../support/s3rver';

const BUCKET = 'contract';
const text = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString() : undefined);

/**
 * The object-store port's contract, run unchanged against every adapter: what domain code
 * may rely on whichever store the environment gives it.
 */
function objectStoreContract(
  name: string,
  open: () => Promise<{ store: ObjectStore; close(): Promise<void> }>,
) {
  describe(`object-store contract: ${name}`, () => {
    let store: ObjectStore;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(() => close());

    it('round-trips bytes and reports size; a missing key reads as undefined', async () => {
      await store.put(BUCKET, 'rt/a/b/c.bin', new Uint8Array([1, 2, 3, 0, 255]));
      expect([...((await store.get(BUCKET, 'rt/a/b/c.bin')) ?? [])]).toEqual([1, 2, 3, 0, 255]);
      const head = await store.head(BUCKET, 'rt/a/b/c.bin');
      expect(head?.size).toBe(5);
      expect(head?.key).toBe('rt/a/b/c.bin');
      expect(Math.abs((head?.lastModified.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
      expect(await store.get(BUCKET, 'rt/missing')).toBeUndefined();
      expect(await store.head(BUCKET, 'rt/missing')).toBeUndefined();
    });

    it('stores an empty object as zero bytes, not as missing', async () => {
      await store.put(BUCKET, 'empty/zero', new Uint8Array());
      expect((await store.get(BUCKET, 'empty/zero'))?.byteLength).toBe(0);
      expect((await store.head(BUCKET, 'empty/zero'))?.size).toBe(0);
    });

    it('a second put replaces the object', async () => {
      await store.put(BUCKET, 'over/k', 'first, longer value');
      await store.put(BUCKET, 'over/k', 'second');
      expect(text(await store.get(BUCKET, 'over/k'))).toBe('second');
      expect((await store.head(BUCKET, 'over/k'))?.size).toBe(6);
    });

    it('keeps keys with spaces, plus signs, percent signs and non-ASCII intact', async () => {
      const key = 'odd/a b+c%20d/ünï €.txt';
      await store.put(BUCKET, key, 'odd');
      expect(text(await store.get(BUCKET, key))).toBe('odd');
      expect((await store.list(BUCKET, 'odd/')).map((o) => o.key)).toEqual([key]);
    });

    it('lists by prefix in key order, across directories', async () => {
      for (const k of ['p/2.txt', 'p/1.txt', 'p/sub/3.txt', 'px.txt', 'q/4.txt']) {
        await store.put(BUCKET, `ls/${k}`, k);
      }
      expect((await store.list(BUCKET, 'ls/p/')).map((o) => o.key)).toEqual([
        'ls/p/1.txt',
        'ls/p/2.txt',
        'ls/p/sub/3.txt',
      ]);
      // A prefix is a string prefix, not a directory: 'ls/p' also matches 'ls/px.txt'.
      expect((await store.list(BUCKET, 'ls/p')).map((o) => o.key)).toEqual([
        'ls/p/1.txt',
        'ls/p/2.txt',
        'ls/p/sub/3.txt',
        'ls/px.txt',
      ]);
      expect((await store.list(BUCKET, 'ls/q/'))[0]).toMatchObject({
        key: 'ls/q/4.txt',
        size: 'q/4.txt'.length,
      });
      expect(await store.list(BUCKET, 'ls/nothing/')).toEqual([]);
    });

    it('lists past one page (S3 answers 1,000 keys a page)', async () => {
      const keys = Array.from({ length: 1003 }, (_, i) => `page/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 25) {
        await Promise.all(keys.slice(i, i + 25).map((k) => store.put(BUCKET, k, 'x')));
      }
      const listed = await store.list(BUCKET, 'page/');
      expect(listed.map((o) => o.key)).toEqual(keys);
    });

    it('creates only once with ifNoneMatch, so a retried create is idempotent', async () => {
      expect(await store.put(BUCKET, 'once/k', 'first', { ifNoneMatch: true })).toBe(true);
      expect(await store.put(BUCKET, 'once/k', 'second', { ifNoneMatch: true })).toBe(false);
      expect(text(await store.get(BUCKET, 'once/k'))).toBe('first');
    });

    it('refuses keys that escape their prefix before touching storage', async () => {
      for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a/./b', '', 'a\0b']) {
        await expect(store.put(BUCKET, key, 'x')).rejects.toThrow(RangeError);
        await expect(store.get(BUCKET, key)).rejects.toThrow(RangeError);
      }
    });

    it('deletes idempotently', async () => {
      await store.put(BUCKET, 'del/x', 'y');
      await store.delete(BUCKET, 'del/x');
      await store.delete(BUCKET, 'del/x');
      expect(await store.head(BUCKET, 'del/x')).toBeUndefined();
      expect(await store.list(BUCKET, 'del/')).toEqual([]);
    });
  });
}

objectStoreContract('filesystem', async () => {
  const root = mkdtempSync(join(tmpdir(), 'mlops-store-'));
  return {
    store: new FsObjectStore(root),
    close: async () => rmSync(root, { recursive: true, force: true }),
  };
});

objectStoreContract('S3 (s3rver)', async () => {
  const s3: RunningS3rver = await startS3rver([BUCKET]);
  const client = s3.client();
  return {
    store: new S3ObjectStore(client),
    close: async () => {
      client.destroy();
      await s3.stop();
    },
  };
});

describe('the filesystem object store', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlops-store-'));
  const store = new FsObjectStore(root);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('leaves no temporary files behind after writes', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('t', `k${i % 3}`, `v${i}`)));
    expect(readdirSync(join(root, '.tmp'))).toEqual([]);
    expect((await store.list('t', '')).length).toBe(3);
  });

  it('refuses a bucket name that escapes the root', async () => {
    await expect(store.get('..', 'x')).rejects.toThrow(RangeError);
  });

  it('gives engines an absolute file path as the URI', () => {
    expect(store.uri('b', 'k/x.parquet')).toBe(join(root, 'b', 'k/x.parquet'));
  });
});
