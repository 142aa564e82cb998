import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConflictError } from './errors';
import { assertSafeKey, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store';

/** Tries of a conditional create that S3 answers with 409 ConditionalRequestConflict. */
const CONFLICT_ATTEMPTS = 4;

/**
 * Object store on Amazon S3 (or any S3-compatible endpoint). S3 PUTs are atomic, and
 * `If-None-Match: *` gives an idempotent create.
 *
 * @example
 * const store = new S3ObjectStore(awsClients().s3);
 */
export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  async put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    assertSafeKey(key);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: options?.contentType,
            IfNoneMatch: options?.ifNoneMatch ? '*' : undefined,
          }),
        );
        return true;
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (options?.ifNoneMatch && name === 'PreconditionFailed') return false;
        // S3 answers 409 to a conditional write racing another write of the key; the SDK
        // does not retry a 409. Trying again settles it: the winner's object makes it a 412.
        if (options?.ifNoneMatch && name === 'ConditionalRequestConflict') {
          if (attempt >= CONFLICT_ATTEMPTS) {
            throw new ConflictError(`Object '${key}' is being written concurrently; retry the request`);
          }
          await new Promise((r) => setTimeout(r, Math.random() * 50 * 2 ** attempt));
          continue;
        }
        throw err;
      }
    }
  }

  async get(bucket: string, key: string): Promise<Uint8Array | undefined> {
    assertSafeKey(key);
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    try {
      const res = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { key, size: res.ContentLength ?? 0, lastModified: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) {
        out.push({ key: o.Key ?? '', size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(bucket: string, key: string): Promise<void> {
    assertSafeKey(key);
    await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  uri(bucket: string, key: string): string {
    return `s3://${bucket}/${key}`;
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
