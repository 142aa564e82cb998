import { createHash, randomUUID } from 'node:crypto';
import { InvalidParameterError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { STORAGE_PREFIX } from './artifact-paths';
import type { ArtifactSigner, PresignedPart } from './signer';

/** Where the local signer keeps multipart parts until completion. */
export const LOCAL_PARTS_PREFIX = 'multipart-parts/';

/**
 * ArtifactSigner for the local runtime, which has no S3 endpoint: URLs point at the local
 * gateway's artifact proxy (`<api>/api/2.0/mlflow-artifacts/artifacts/<path>`); multipart
 * part URLs carry `upload_id` and `part_number`, and the proxy stores each part until
 * `mpu/complete` concatenates them.
 */
export class LocalArtifactSigner implements ArtifactSigner {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly apiBaseUrl: string,
  ) {}

  private proxyUrl(key: string): string {
    if (!key.startsWith(STORAGE_PREFIX)) throw new InvalidParameterError(`Key '${key}' is not an artifact`);
    const path = key.slice(STORAGE_PREFIX.length).split('/').map(encodeURIComponent).join('/');
    return `${this.apiBaseUrl}/api/2.0/mlflow-artifacts/artifacts/${path}`;
  }

  async presign(key: string, _method: 'GET' | 'PUT', _expiresIn: number): Promise<string> {
    return this.proxyUrl(key);
  }

  async createMultipart(
    key: string,
    numParts: number,
  ): Promise<{ uploadId: string; parts: PresignedPart[] }> {
    const uploadId = randomUUID();
    const parts = Array.from({ length: numParts }, (_, i) => ({
      part_number: i + 1,
      url: `${this.proxyUrl(key)}?upload_id=${uploadId}&part_number=${i + 1}`,
    }));
    return { uploadId, parts };
  }

  /** Stores one part (called by the proxy for a PUT with upload_id); returns its ETag. */
  async putPart(uploadId: string, partNumber: number, body: Uint8Array): Promise<string> {
    checkUploadId(uploadId);
    await this.store.put(
      this.bucket,
      `${LOCAL_PARTS_PREFIX}${uploadId}/${String(partNumber).padStart(5, '0')}`,
      body,
    );
    return `"${createHash('md5').update(body).digest('hex')}"`;
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly { part_number: number; etag: string }[],
  ): Promise<void> {
    checkUploadId(uploadId);
    const chunks: Uint8Array[] = [];
    for (const p of [...parts].sort((a, b) => a.part_number - b.part_number)) {
      const body = await this.store.get(
        this.bucket,
        `${LOCAL_PARTS_PREFIX}${uploadId}/${String(p.part_number).padStart(5, '0')}`,
      );
      if (!body)
        throw new InvalidParameterError(`Part ${p.part_number} of upload ${uploadId} was never uploaded`);
      chunks.push(body);
    }
    await this.store.put(this.bucket, key, Buffer.concat(chunks));
    await this.abortMultipart(key, uploadId);
  }

  async abortMultipart(_key: string, uploadId: string): Promise<void> {
    checkUploadId(uploadId);
    for (const o of await this.store.list(this.bucket, `${LOCAL_PARTS_PREFIX}${uploadId}/`)) {
      await this.store.delete(this.bucket, o.key);
    }
  }
}

function checkUploadId(id: string): void {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new InvalidParameterError(`Invalid upload_id '${id}'`);
}
