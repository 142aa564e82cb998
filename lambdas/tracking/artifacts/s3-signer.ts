import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ArtifactSigner, PresignedPart } from './signer';

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

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly { part_number: number; etag: string }[],
  ): Promise<void> {
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.part_number, ETag: p.etag })) },
      }),
    );
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.s3.send(
      new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
    );
  }
}
