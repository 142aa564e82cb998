import type { ObjectStore } from '../../platform/object-store';
import { type CompletedPart, LocalMultipartUploads, localPresignedUrl, localSigningKey } from './local-s3';
import type { ArtifactSigner, PresignedPart } from './signer';

/**
 * ArtifactSigner for the local runtime, which has no S3 endpoint: its URLs are signed
 * grants the local gateway serves itself under `/_local/s3/` (see local-s3.ts), so large
 * artifacts take the same path as on AWS: never through a function's 6 MB payload.
 *
 * @example
 * const signer = new LocalArtifactSigner(store, 'artifacts', 'http://127.0.0.1:4566');
 * const url = await signer.presign('artifacts/1/abc/artifacts/big.bin', 'GET', 900);
 */
export class LocalArtifactSigner implements ArtifactSigner {
  readonly uploads: LocalMultipartUploads;
  private signingKey?: Promise<Buffer>;

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly apiBaseUrl: string,
    private readonly now: () => number = Date.now,
  ) {
    this.uploads = new LocalMultipartUploads(store, bucket, now);
  }

  private async url(
    key: string,
    method: 'GET' | 'PUT',
    expiresIn: number,
    part?: { uploadId: string; partNumber: number },
  ): Promise<string> {
    this.signingKey ??= localSigningKey(this.store, this.bucket);
    return localPresignedUrl(this.apiBaseUrl, await this.signingKey, {
      method,
      bucket: this.bucket,
      key,
      expires: Math.floor(this.now() / 1000) + expiresIn,
      uploadId: part?.uploadId,
      partNumber: part?.partNumber,
    });
  }

  presign(key: string, method: 'GET' | 'PUT', expiresIn: number): Promise<string> {
    return this.url(key, method, expiresIn);
  }

  async createMultipart(
    key: string,
    numParts: number,
    expiresIn: number,
  ): Promise<{ uploadId: string; parts: PresignedPart[] }> {
    const uploadId = await this.uploads.create(key);
    const parts: PresignedPart[] = [];
    for (let n = 1; n <= numParts; n++) {
      parts.push({ part_number: n, url: await this.url(key, 'PUT', expiresIn, { uploadId, partNumber: n }) });
    }
    return { uploadId, parts };
  }

  completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<void> {
    return this.uploads.complete(key, uploadId, parts);
  }

  abortMultipart(key: string, uploadId: string): Promise<void> {
    return this.uploads.abort(key, uploadId);
  }
}
