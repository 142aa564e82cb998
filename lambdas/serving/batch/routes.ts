import { z } from 'zod';
import { defineRoute } from '../../platform/http/route';
import { BatchJobSchema } from './job';

const JobId = z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'id is the job id POST /v1/batch-scoring returned');

/** POST /v1/batch-scoring: starts the batch-scoring workflow on a file in S3. */
export const startBatchScoringRoute = defineRoute({
  method: 'POST',
  path: '/v1/batch-scoring',
  summary: 'Score a Parquet or CSV file with a registered model version or alias',
  request: BatchJobSchema,
  response: z.object({
    id: z.string(),
    execution_arn: z.string(),
    model: z.string(),
    version: z.string().optional(),
    alias: z.string().optional(),
    output: z.string(),
  }),
});

/** GET /v1/batch-scoring/{id}: the job's status and, once it succeeded, its manifest. */
export const batchScoringStatusRoute = defineRoute({
  method: 'GET',
  path: '/v1/batch-scoring/{id}',
  summary: 'Status of a batch-scoring job',
  request: z.object({ id: JobId }),
  response: z.object({
    id: z.string(),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
    started_at: z.string().optional(),
    stopped_at: z.string().optional(),
    manifest: z.record(z.string(), z.unknown()).optional(),
    error: z.object({ error: z.string(), cause: z.string() }).optional(),
  }),
});

export const batchScoringRoutes = [startBatchScoringRoute, batchScoringStatusRoute] as const;
