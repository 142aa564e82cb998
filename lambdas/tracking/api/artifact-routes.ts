import { z } from 'zod';
import { DEFAULT_MAX_BODY_BYTES, defineRoute, q } from '../../platform/http/route';

/**
 * Largest artifact that passes through the function itself: its base64 form (API Gateway
 * passes bodies base64-encoded) must fit Lambda's 6 MB payload. Larger downloads answer
 * a redirect to a presigned URL; larger uploads use multipart (mpu/*) or presigned PUTs.
 */
export const INLINE_ARTIFACT_MAX_BYTES = DEFAULT_MAX_BODY_BYTES;

/** MLflow's artifact proxy (`/api/2.0/mlflow-artifacts/`) plus presigned URLs for large files. */
const p = (path: string) => `/api/2.0/mlflow-artifacts/${path}`;
const fileInfo = z.object({ path: z.string(), is_dir: z.boolean(), file_size: z.number().optional() });

export const downloadArtifact = defineRoute({
  method: 'GET',
  path: p('artifacts/{proxy+}'),
  summary: 'Download an artifact (files over 4 MiB answer 307 to a presigned URL)',
  request: z.object({ proxy: z.string() }),
});

export const uploadArtifact = defineRoute({
  method: 'PUT',
  path: p('artifacts/{proxy+}'),
  summary: 'Upload an artifact of at most 4 MiB (larger: mpu/create, or a presigned PUT)',
  // upload_id and part_number are accepted only to refuse them: parts go to presigned URLs.
  request: z.object({ proxy: z.string(), upload_id: z.string().optional(), part_number: q.int().optional() }),
  body: 'raw',
  maxBodyBytes: INLINE_ARTIFACT_MAX_BYTES,
  tooLargeHint:
    'Upload larger artifacts in parts: set MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true (the client then uses mpu/create), or log to an s3:// artifact root.',
  response: z.object({}),
});

export const deleteArtifact = defineRoute({
  method: 'DELETE',
  path: p('artifacts/{proxy+}'),
  summary: 'Delete an artifact',
  request: z.object({ proxy: z.string() }),
  response: z.object({}),
});

export const listProxiedArtifacts = defineRoute({
  method: 'GET',
  path: p('artifacts'),
  summary: 'List artifacts under a path',
  request: z.object({ path: z.string().optional() }),
  response: z.object({ files: z.array(fileInfo) }),
});

const credential = z.object({ part_number: z.number(), url: z.string() });

export const createMultipartUpload = defineRoute({
  method: 'POST',
  path: p('mpu/create/{proxy+}'),
  summary: 'Start a multipart upload; answers a presigned URL per part',
  request: z.object({
    proxy: z.string(),
    path: z.string().optional(),
    num_parts: z.number().int().min(1).max(10000),
  }),
  response: z.object({ upload_id: z.string(), credentials: z.array(credential) }),
});

export const completeMultipartUpload = defineRoute({
  method: 'POST',
  path: p('mpu/complete/{proxy+}'),
  summary: 'Complete a multipart upload',
  request: z.object({
    proxy: z.string(),
    path: z.string().optional(),
    upload_id: z.string(),
    parts: z.array(
      z.object({
        part_number: z.number().int().min(1).max(10000),
        etag: z.string().min(1),
        url: z.string().optional(),
      }),
    ),
  }),
  response: z.object({}),
});

export const abortMultipartUpload = defineRoute({
  method: 'POST',
  path: p('mpu/abort/{proxy+}'),
  summary: 'Abort a multipart upload',
  request: z.object({ proxy: z.string(), path: z.string().optional(), upload_id: z.string() }),
  response: z.object({}),
});

export const presignArtifact = defineRoute({
  method: 'GET',
  path: p('presigned/{proxy+}'),
  summary: 'A presigned URL to GET or PUT one artifact directly',
  request: z.object({ proxy: z.string(), method: z.enum(['GET', 'PUT']).default('GET') }),
  response: z.object({ url: z.string(), method: z.string(), expires_in: z.number() }),
});

export const artifactRoutes = [
  downloadArtifact,
  uploadArtifact,
  deleteArtifact,
  listProxiedArtifacts,
  createMultipartUpload,
  completeMultipartUpload,
  abortMultipartUpload,
  presignArtifact,
] as const;
