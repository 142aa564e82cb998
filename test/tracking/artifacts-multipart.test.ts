import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import {
  LOCAL_MULTIPART_EXPIRY_DAYS,
  LocalMultipartUploads,
  localPresignedUrl,
  verifyLocalGrant,
} from '../../lambdas/tracking/artifacts/local-s3';
import { synthTemplate } from '../../local/synth';

const root = mkdtempSync(join(tmpdir(), 'mlops-mpu-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DAY = 24 * 60 * 60 * 1000;

describe('local multipart uploads', () => {
  it('abandoned uploads are removed after the expiry, parts and all; live ones stay', async () => {
    const store = new FsObjectStore(root);
    let now = Date.UTC(2025, 0, 1);
    const uploads = new LocalMultipartUploads(store, 'artifacts', () => now);
    const old = await uploads.create('artifacts/1/r/artifacts/old.bin');
    await uploads.putPart(old, 1, Buffer.from('abandoned'));
    now += (LOCAL_MULTIPART_EXPIRY_DAYS - 1) * DAY;
    const recent = await uploads.create('artifacts/1/r/artifacts/new.bin');
    const etag = await uploads.putPart(recent, 1, Buffer.from('kept'));
    expect(await store.list('artifacts', `multipart-parts/${old}/`)).toHaveLength(1);
    now += 2 * DAY;
    expect(await uploads.expire()).toBe(1);
    expect(await store.list('artifacts', `multipart-parts/${old}/`)).toEqual([]);
    await expect(uploads.putPart(old, 2, Buffer.from('late'))).rejects.toThrow(/No multipart upload/);
    await uploads.complete('artifacts/1/r/artifacts/new.bin', recent, [{ part_number: 1, etag }]);
    expect(
      Buffer.from((await store.get('artifacts', 'artifacts/1/r/artifacts/new.bin')) ?? []).toString(),
    ).toBe('kept');
  });

  it('a presigned URL is refused once expired, for another method, or with a changed key', async () => {
    const key = Buffer.alloc(32, 7);
    const url = new URL(
      localPresignedUrl('http://x', key, {
        method: 'GET',
        bucket: 'artifacts',
        key: 'a/b c.bin',
        expires: 100,
      }),
    );
    const keyFor = async () => key;
    await expect(verifyLocalGrant('GET', url.pathname, url.searchParams, keyFor, 100)).resolves.toMatchObject(
      {
        key: 'a/b c.bin',
      },
    );
    await expect(verifyLocalGrant('GET', url.pathname, url.searchParams, keyFor, 101)).rejects.toThrow(
      /expired/,
    );
    await expect(verifyLocalGrant('PUT', url.pathname, url.searchParams, keyFor, 100)).rejects.toThrow(
      /signed for GET/,
    );
    const other = url.pathname.replace('a/', 'z/');
    await expect(verifyLocalGrant('GET', other, url.searchParams, keyFor, 100)).rejects.toThrow(/signature/);
  });
});

describe('the artifact bucket on AWS', () => {
  it('aborts incomplete multipart uploads after the same days the local runtime expires them', () => {
    const template = synthTemplate({ stage: 'local' });
    const bucket = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::S3::Bucket' && r.Metadata?.['mlops:local-name'] === 'artifacts',
    );
    const rules = bucket?.Properties?.LifecycleConfiguration?.Rules ?? [];
    expect(rules).toContainEqual(
      expect.objectContaining({
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: LOCAL_MULTIPART_EXPIRY_DAYS },
      }),
    );
  });
});
