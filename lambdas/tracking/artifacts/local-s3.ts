import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { InvalidParameterError, InvalidStateError, MlopsError, NotFoundError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';

/**
 * The local runtime's stand-in for what S3 does for large artifacts: presigned URLs and
 * multipart uploads, over the object store. Functions sign URLs (`LocalArtifactSigner`);
 * the local gateway serves them under `/_local/s3/<bucket>/<key>`, outside any function,
 * as S3 serves presigned URLs outside Lambda. Both sides share the rules below, which
 * follow S3's: parts only for an upload that was created, part numbers 1 to 10,000, the
 * last PUT of a part number wins, completion checks each part's ETag and is idempotent.
 */
export const LOCAL_S3_PATH = '/_local/s3/';

/** Upload records and their parts live in the bucket under these prefixes. */
export const LOCAL_UPLOADS_PREFIX = 'multipart-uploads/';
export const LOCAL_PARTS_PREFIX = 'multipart-parts/';
const SIGNING_KEY = `${LOCAL_UPLOADS_PREFIX}.signing-key`;

/**
 * Uploads left unfinished this long are removed (parts and record), as the artifact
 * bucket's `AbortIncompleteMultipartUpload` lifecycle rule does on AWS.
 */
export const LOCAL_MULTIPART_EXPIRY_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

export const MAX_PART_NUMBER = 10_000;

interface UploadRecord {
  readonly key: string;
  readonly initiated: number;
  /** Set once completed: a retried completion with the same parts succeeds again. */
  readonly completed?: { readonly at: number; readonly etag: string };
}

/** One part of a completion request, with the ETag its PUT answered. */
export interface CompletedPart {
  readonly part_number: number;
  readonly etag: string;
}

const partKey = (uploadId: string, partNumber: number) =>
  `${LOCAL_PARTS_PREFIX}${uploadId}/${String(partNumber).padStart(5, '0')}`;
const recordKey = (uploadId: string) => `${LOCAL_UPLOADS_PREFIX}${uploadId}.json`;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const bareEtag = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

/** Checks ascending, unique part numbers in 1..10,000 (S3's InvalidPartOrder otherwise). */
export function checkPartList(parts: readonly CompletedPart[]): void {
  if (parts.length === 0)
    throw new InvalidParameterError('A multipart upload completes with at least one part');
  let previous = 0;
  for (const p of parts) {
    if (!Number.isInteger(p.part_number) || p.part_number < 1 || p.part_number > MAX_PART_NUMBER) {
      throw new InvalidParameterError(
        `Invalid part_number ${p.part_number}: part numbers are 1 to ${MAX_PART_NUMBER}`,
      );
    }
    if (p.part_number <= previous) {
      throw new InvalidParameterError(
        `Parts must be listed once each in ascending part_number order; ${p.part_number} follows ${previous}`,
      );
    }
    previous = p.part_number;
  }
}

/**
 * The ETag S3 gives an object assembled from parts: the MD5 of the parts' binary MD5s,
 * a dash and the number of parts.
 */
export function multipartEtag(partEtags: readonly string[]): string {
  const joined = Buffer.concat(partEtags.map((e) => Buffer.from(bareEtag(e), 'hex')));
  return `"${md5(joined)}-${partEtags.length}"`;
}

/**
 * Multipart uploads kept in an object store bucket.
 *
 * @example
 * const uploads = new LocalMultipartUploads(store, 'artifacts');
 * const id = await uploads.create('artifacts/1/abc/artifacts/big.bin');
 * const etag = await uploads.putPart(id, 1, bytes);
 * await uploads.complete('artifacts/1/abc/artifacts/big.bin', id, [{ part_number: 1, etag }]);
 */
export class LocalMultipartUploads {
  constructor(
    private readonly store: ObjectStore,
    readonly bucket: string,
    private readonly now: () => number = Date.now,
  ) {}

  private async record(uploadId: string): Promise<UploadRecord | undefined> {
    checkUploadId(uploadId);
    const bytes = await this.store.get(this.bucket, recordKey(uploadId));
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as UploadRecord) : undefined;
  }

  /** Starts an upload for a key; removes expired uploads on the way. */
  async create(key: string): Promise<string> {
    await this.expire();
    const uploadId = randomUUID();
    const record: UploadRecord = { key, initiated: this.now() };
    await this.store.put(this.bucket, recordKey(uploadId), JSON.stringify(record));
    return uploadId;
  }

  /** Stores one part (a repeated part number replaces the earlier bytes); answers its ETag. */
  async putPart(uploadId: string, partNumber: number, body: Uint8Array): Promise<string> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new InvalidParameterError(
        `Invalid partNumber ${partNumber}: part numbers are 1 to ${MAX_PART_NUMBER}`,
      );
    }
    const record = await this.record(uploadId);
    if (!record || record.completed) throw noSuchUpload(uploadId);
    await this.store.put(this.bucket, partKey(uploadId, partNumber), body);
    return `"${md5(body)}"`;
  }

  /**
   * Assembles the listed parts into the key. Each ETag must be the one the part's last PUT
   * answered. Completing a completed upload again with the same parts succeeds.
   */
  async complete(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<void> {
    checkPartList(parts);
    const record = await this.record(uploadId);
    if (!record || record.key !== key) throw noSuchUpload(uploadId);
    const etag = multipartEtag(parts.map((p) => p.etag));
    if (record.completed) {
      if (record.completed.etag === etag) return;
      throw new InvalidStateError(`Upload ${uploadId} was completed with other parts`);
    }
    const chunks: Uint8Array[] = [];
    for (const p of parts) {
      const body = await this.store.get(this.bucket, partKey(uploadId, p.part_number));
      if (!body)
        throw new InvalidParameterError(`Part ${p.part_number} of upload ${uploadId} was never uploaded`);
      if (md5(body) !== bareEtag(p.etag)) {
        throw new InvalidParameterError(
          `Part ${p.part_number}: the ETag ${p.etag} is not the ETag of the part's last upload`,
        );
      }
      chunks.push(body);
    }
    await this.store.put(this.bucket, key, Buffer.concat(chunks));
    const done: UploadRecord = { ...record, completed: { at: this.now(), etag } };
    await this.store.put(this.bucket, recordKey(uploadId), JSON.stringify(done));
    await this.removeParts(uploadId);
  }

  /** Discards an upload's parts; aborting an unknown or already aborted upload is a no-op. */
  async abort(key: string, uploadId: string): Promise<void> {
    const record = await this.record(uploadId);
    if (record && record.key !== key) throw noSuchUpload(uploadId);
    if (record?.completed) throw new InvalidStateError(`Upload ${uploadId} is already completed`);
    await this.removeParts(uploadId);
    await this.store.delete(this.bucket, recordKey(uploadId));
  }

  /**
   * Removes uploads initiated more than the expiry ago, completed or not, and parts whose
   * upload record is gone. Answers how many uploads were removed.
   */
  async expire(): Promise<number> {
    const cutoff = this.now() - LOCAL_MULTIPART_EXPIRY_DAYS * DAY_MS;
    let removed = 0;
    const live = new Set<string>();
    for (const o of await this.store.list(this.bucket, LOCAL_UPLOADS_PREFIX)) {
      const id = /^multipart-uploads\/([0-9a-f-]{36})\.json$/.exec(o.key)?.[1];
      if (!id) continue;
      const record = await this.record(id);
      if (record && record.initiated >= cutoff) {
        live.add(id);
        continue;
      }
      await this.removeParts(id);
      await this.store.delete(this.bucket, o.key);
      removed++;
    }
    for (const o of await this.store.list(this.bucket, LOCAL_PARTS_PREFIX)) {
      const id = o.key.slice(LOCAL_PARTS_PREFIX.length).split('/')[0] as string;
      if (!live.has(id) && o.lastModified.getTime() < cutoff) await this.store.delete(this.bucket, o.key);
    }
    return removed;
  }

  private async removeParts(uploadId: string): Promise<void> {
    for (const o of await this.store.list(this.bucket, `${LOCAL_PARTS_PREFIX}${uploadId}/`)) {
      await this.store.delete(this.bucket, o.key);
    }
  }
}

function checkUploadId(id: string): void {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
    throw new InvalidParameterError(`Invalid upload_id '${id}'`);
  }
}

function noSuchUpload(uploadId: string): MlopsError {
  return new NotFoundError(
    `No multipart upload ${uploadId} for this path (never created, aborted or expired)`,
  );
}

/** What a local presigned URL allows: one method on one object (or one part of an upload). */
export interface LocalGrant {
  readonly method: 'GET' | 'PUT';
  readonly bucket: string;
  readonly key: string;
  /** Epoch seconds after which the URL is refused. */
  readonly expires: number;
  readonly uploadId?: string;
  readonly partNumber?: number;
}

const grantText = (g: LocalGrant) =>
  [g.method, g.bucket, g.key, g.expires, g.uploadId ?? '', g.partNumber ?? ''].join('\n');

/** The bucket's signing key for local presigned URLs, created on first use. */
export async function localSigningKey(store: ObjectStore, bucket: string): Promise<Buffer> {
  const existing = await store.get(bucket, SIGNING_KEY);
  if (existing) return Buffer.from(existing);
  await store.put(bucket, SIGNING_KEY, randomBytes(32).toString('hex'), { ifNoneMatch: true });
  return Buffer.from((await store.get(bucket, SIGNING_KEY)) as Uint8Array);
}

/**
 * A presigned URL of the local runtime: the grant in the query string, signed with the
 * bucket's key (an HMAC), so the gateway serves exactly what the function allowed.
 */
export function localPresignedUrl(baseUrl: string, key: Buffer, g: LocalGrant): string {
  const path = g.key.split('/').map(encodeURIComponent).join('/');
  const q = new URLSearchParams({ 'X-Local-Method': g.method, 'X-Local-Expires': String(g.expires) });
  if (g.uploadId !== undefined) q.set('uploadId', g.uploadId);
  if (g.partNumber !== undefined) q.set('partNumber', String(g.partNumber));
  q.set('X-Local-Signature', createHmac('sha256', key).update(grantText(g)).digest('hex'));
  return `${baseUrl}${LOCAL_S3_PATH}${encodeURIComponent(g.bucket)}/${path}?${q}`;
}

/**
 * Reads and checks the grant of a local presigned URL's path and query (as the gateway
 * received them); throws 403 PERMISSION_DENIED for a wrong signature, method or an
 * expired URL.
 */
export async function verifyLocalGrant(
  method: string,
  pathname: string,
  query: URLSearchParams,
  keyFor: (bucket: string) => Promise<Buffer>,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<LocalGrant> {
  const rest = pathname.slice(LOCAL_S3_PATH.length);
  const slash = rest.indexOf('/');
  if (!pathname.startsWith(LOCAL_S3_PATH) || slash < 1) throw denied('Malformed presigned URL');
  let bucket: string;
  let objectKey: string;
  try {
    bucket = decodeURIComponent(rest.slice(0, slash));
    objectKey = rest
      .slice(slash + 1)
      .split('/')
      .map(decodeURIComponent)
      .join('/');
  } catch {
    throw denied('Malformed presigned URL');
  }
  const part = query.get('partNumber');
  const grant: LocalGrant = {
    method: query.get('X-Local-Method') as 'GET' | 'PUT',
    bucket,
    key: objectKey,
    expires: Number(query.get('X-Local-Expires')),
    uploadId: query.get('uploadId') ?? undefined,
    partNumber: part === null ? undefined : Number(part),
  };
  const given = Buffer.from(query.get('X-Local-Signature') ?? '', 'hex');
  const signingKey = await keyFor(bucket).catch(() => {
    throw denied(`No bucket '${bucket}'`);
  });
  const expected = createHmac('sha256', signingKey).update(grantText(grant)).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw denied('The request signature does not match');
  }
  if (grant.method !== method) throw denied(`The URL is signed for ${grant.method}, not ${method}`);
  if (!(grant.expires >= nowSeconds)) throw denied('The presigned URL has expired');
  return grant;
}

function denied(message: string): MlopsError {
  return new MlopsError('PERMISSION_DENIED', message);
}
