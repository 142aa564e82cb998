/**
 * The artifact URL signer port: presigned URLs so large artifacts never pass through
 * Lambda's 6 MB payload. On AWS these are S3 presigned URLs; locally there is no S3
 * endpoint, so they point at the local gateway's artifact proxy.
 */
export interface PresignedPart {
  readonly part_number: number;
  readonly url: string;
}

export interface ArtifactSigner {
  /** A URL for one GET or PUT of the object, valid for `expiresIn` seconds. */
  presign(key: string, method: 'GET' | 'PUT', expiresIn: number): Promise<string>;
  /** Starts a multipart upload and presigns a PUT URL per part. */
  createMultipart(
    key: string,
    numParts: number,
    expiresIn: number,
  ): Promise<{ uploadId: string; parts: PresignedPart[] }>;
  /** Assembles the parts (each with the ETag its PUT answered). */
  completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly { part_number: number; etag: string }[],
  ): Promise<void>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
}
