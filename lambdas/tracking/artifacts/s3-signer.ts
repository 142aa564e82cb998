import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import { checkPartList, multipartEtag } from './local-s3';
import type { ArtifactSigner, PresignedPart } from './signer';

/** S3's answers to a bad completion are the caller's mistakes (4xx), not ours. */
const CALLER_ERRORS = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'MalformedXML']);
const errorName = (err: unknown) => (err as { name?: string; Code?: string }).name ?? '';

/**
 * ArtifactSigner on S3: presigned GetObject/PutObject, and multipart uploads whose
 * parts the client PUTs straight to S3.
 *
 * @example
 * const signer = new S3ArtifactSigner(awsClients().s3, process.env.ARTIFACTS_BUCKET!);
 */
export class S3ArtifactSigner implements ArtifactSigner {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  presign(key: string, method: 'GET' | 'PUT', expiresIn: number): Promise<string> {
    const cmd =
      method === 'GET'
        ? new GetObjectCommand({ Bucket: this.bucket, Key: key })
        : new PutObjectCommand({ Bucket: this.bucket, Key: key });
    return getSignedUrl(this.s3, cmd, { expiresIn });
  }

  async createMultipart(
    key: string,
    numParts: number,
    expiresIn: number,
  ): Promise<{ uploadId: string; parts: PresignedPart[] }> {
    const res = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }));
    const uploadId = res.UploadId as string;
    const parts = await Promise.all(
      Array.from({ length: numParts }, async (_, i) => ({
        part_number: i + 1,
        url: await getSignedUrl(
          this.s3,
          new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: i + 1 }),
          { expiresIn },
        ),
      })),
    );
    return { uploadId, parts };
  }

  /**
   * Completes the upload. A retry after a success finds no upload (S3 forgets it): it
   * succeeds when the object's ETag is the one these parts make.
   */
  async completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly { part_number: number; etag: string }[],
  ): Promise<void> {
    checkPartList(parts);
    try {
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.part_number, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      const name = errorName(err);
      if (CALLER_ERRORS.has(name)) throw new InvalidParameterError(`S3 refused the parts: ${name}`);
      if (name !== 'NoSuchUpload') throw err;
      const head = await this.s3
        .send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))
        .catch(() => undefined);
      if (head?.ETag !== multipartEtag(parts.map((p) => p.etag))) {
        throw new NotFoundError(
          `No multipart upload ${uploadId} for this path (never created, aborted or expired)`,
        );
      }
    }
  }

  /** Aborts the upload; an upload already gone (aborted, expired) is not an error. */
  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      );
    } catch (err) {
      if (errorName(err) !== 'NoSuchUpload') throw err;
    }
  }
}
