import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../lambdas/platform/s3-object-store';
import { S3ArtifactSigner } from '../../../lambdas/tracking/artifacts/s3-signer';
import { type RunningS3rver, startS3rver } from '../../support/s3rver';

const BUCKET = 'artifacts';
let s3: RunningS3rver;
let client: S3Client;
let signer: S3ArtifactSigner;
let store: S3ObjectStore;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  client = s3.client();
  signer = new S3ArtifactSigner(client, BUCKET);
  store = new S3ObjectStore(client);
});
afterAll(async () => {
  client.destroy();
  await s3.stop();
});

// s3rver checks the access key of a presigned URL but not its SigV4 signature: these cases
// prove the URLs address the right operation and object, not that AWS accepts the signature.
describe('S3 artifact signer against an S3 server (s3rver)', () => {
  it('a presigned PUT uploads and a presigned GET reads the same bytes back', async () => {
    const bytes = randomBytes(4096);
    const put = await signer.presign('runs/r1/artifacts/model.onnx', 'PUT', 300);
    expect(new URL(put).searchParams.get('X-Amz-Expires')).toBe('300');
    const uploaded = await fetch(put, { method: 'PUT', body: bytes });
    expect(uploaded.status).toBe(200);
    expect(Buffer.from((await store.get(BUCKET, 'runs/r1/artifacts/model.onnx')) ?? [])).toEqual(bytes);

    const get = await signer.presign('runs/r1/artifacts/model.onnx', 'GET', 300);
    const read = await fetch(get);
    expect(read.status).toBe(200);
    expect(Buffer.from(await read.arrayBuffer())).toEqual(bytes);
  });

  it('keeps a key with spaces and non-ASCII characters through signing', async () => {
    const key = 'runs/r1/artifacts/my plots/ünï+1.png';
    const put = await signer.presign(key, 'PUT', 60);
    expect((await fetch(put, { method: 'PUT', body: 'png' })).status).toBe(200);
    expect(Buffer.from((await store.get(BUCKET, key)) ?? []).toString()).toBe('png');
  });

  it('multipart: parts PUT to their presigned URLs assemble into one object in part order', async () => {
    const key = 'runs/r2/artifacts/big.bin';
    // S3's minimum part size is 5 MiB except for the last part.
    const first = randomBytes(5 * 1024 * 1024);
    const last = randomBytes(1000);
    const { uploadId, parts } = await signer.createMultipart(key, 2, 600);
    expect(parts.map((p) => p.part_number)).toEqual([1, 2]);
    for (const p of parts) {
      const url = new URL(p.url);
      expect(url.searchParams.get('uploadId')).toBe(uploadId);
      expect(url.searchParams.get('partNumber')).toBe(String(p.part_number));
    }
    // Upload out of order, as parallel clients do.
    const r2 = await fetch(parts[1]!.url, { method: 'PUT', body: last });
    const r1 = await fetch(parts[0]!.url, { method: 'PUT', body: first });
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const etags = [r1.headers.get('etag'), r2.headers.get('etag')];
    expect(etags.every((e) => typeof e === 'string' && e.length > 0)).toBe(true);
    expect(await store.head(BUCKET, key)).toBeUndefined();

    await signer.completeMultipart(key, uploadId, [
      { part_number: 1, etag: etags[0]! },
      { part_number: 2, etag: etags[1]! },
    ]);
    const got = await store.get(BUCKET, key);
    expect(got?.byteLength).toBe(first.length + last.length);
    expect(Buffer.from(got ?? []).equals(Buffer.concat([first, last]))).toBe(true);
  });

  it('an aborted multipart upload leaves no object and accepts no more parts', async () => {
    const key = 'runs/r3/artifacts/abandoned.bin';
    const { uploadId, parts } = await signer.createMultipart(key, 1, 600);
    await signer.abortMultipart(key, uploadId);
    const late = await fetch(parts[0]!.url, { method: 'PUT', body: 'late' });
    expect(late.status).toBe(404);
    expect(await late.text()).toContain('NoSuchUpload');
    await expect(
      signer.completeMultipart(key, uploadId, [{ part_number: 1, etag: '"x"' }]),
    ).rejects.toThrow();
    expect(await store.head(BUCKET, key)).toBeUndefined();
  });
});
