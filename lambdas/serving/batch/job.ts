import { z } from 'zod';
import { InvalidParameterError } from '../../platform/errors';
import type { ModelPin } from '../domain/served-model';

// The batch-scoring job's contract and locations: light (no DuckDB, no onnxruntime), so the
// route specs and the CDK construct can import it.

/** Which registered version scores: exactly one of a version number or an alias. */
export interface BatchModelRef {
  readonly model: string;
  readonly version?: string;
  readonly alias?: string;
}

/** The pin a request names; refuses none or both of version and alias. */
export function pinOf(ref: BatchModelRef): ModelPin {
  if (!ref.model) throw new InvalidParameterError('name the registered model to score with');
  if (ref.version !== undefined && ref.alias !== undefined)
    throw new InvalidParameterError('give a version or an alias, not both');
  if (ref.version !== undefined) {
    if (!/^\d{1,9}$/.test(ref.version))
      throw new InvalidParameterError(`version must be a registered version number, got '${ref.version}'`);
    return { name: ref.model, version: ref.version };
  }
  if (ref.alias !== undefined) return { name: ref.model, alias: ref.alias };
  throw new InvalidParameterError('give the version (--version) or the alias (--alias) to score with');
}

/** Where batch scoring keeps its work (shard lists, the Map's results) in the work bucket. */
export const WORK_PREFIX = 'batch-scoring/runs/';
/** Output prefixes must be under this prefix of the work bucket (the only place the workflow writes). */
export const OUTPUT_PREFIX = 'batch-scoring/';
/** The manifest's name under the output prefix: written last, so its presence means the output is whole. */
export const MANIFEST = '_manifest.json';
/** Rows per shard (one Lambda invocation) unless told otherwise. */
export const DEFAULT_SHARD_ROWS = 250_000;

/** A batch-scoring job as the API and the workflow take it. */
export const BatchJobSchema = z.strictObject({
  model: z.string().min(1).max(256),
  version: z
    .string()
    .regex(/^\d{1,9}$/, 'version must be a registered version number')
    .optional(),
  alias: z.string().min(1).max(256).optional(),
  /** `s3://bucket/key.parquet` or `.csv`, in the artifacts or features bucket. */
  input: z
    .string()
    .regex(/^s3:\/\/[^/]+\/.+\.(parquet|csv)$/i, 'input must be s3://<bucket>/<key>.parquet or .csv'),
  /** `s3://<artifacts bucket>/batch-scoring/<name>/`: part files and `_manifest.json` go under it. */
  output: z.string().regex(/^s3:\/\/[^/]+\/.+\/$/, 'output must be an S3 prefix ending in /'),
  format: z.enum(['parquet', 'csv']).default('parquet'),
  batch_size: z.number().int().min(1).max(1_000_000).optional(),
  shard_rows: z.number().int().min(1000).max(100_000_000).optional(),
  keys: z.array(z.string().min(1)).max(100).optional(),
});
export type BatchJob = z.input<typeof BatchJobSchema>;

/** `s3://bucket/key` split; refuses anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new InvalidParameterError(`'${uri}' is not an s3://<bucket>/<key> URI`);
  return { bucket: m[1] as string, key: m[2] as string };
}

/** Checks a job's locations against what the workflow may read and write; returns them. */
export function checkJobLocations(
  job: z.output<typeof BatchJobSchema>,
  deps: { readonly workBucket: string; readonly inputBuckets: readonly string[] },
) {
  const input = parseS3Uri(job.input);
  if (!deps.inputBuckets.includes(input.bucket))
    throw new InvalidParameterError(
      `input bucket '${input.bucket}' is not one batch scoring reads; put the file in ${deps.inputBuckets.map((b) => `s3://${b}/`).join(' or ')}`,
    );
  const output = parseS3Uri(job.output);
  if (
    output.bucket !== deps.workBucket ||
    !output.key.startsWith(OUTPUT_PREFIX) ||
    output.key.startsWith(WORK_PREFIX)
  )
    throw new InvalidParameterError(
      `output must be a prefix under s3://${deps.workBucket}/${OUTPUT_PREFIX} (not ${WORK_PREFIX}), e.g. s3://${deps.workBucket}/${OUTPUT_PREFIX}scores/2024-06-01/`,
    );
  return { input, output };
}
