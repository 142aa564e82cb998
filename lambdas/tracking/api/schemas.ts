import { z } from 'zod';
import { q } from '../../platform/http/route';

/**
 * Wire schemas shared by the tracking and registry routes: MLflow's JSON shapes
 * (snake_case, ids as strings, int64 as numbers, enums as names).
 */

/**
 * An int64 in a JSON body: a number, or digits as text (protobuf JSON writes int64 as
 * strings), within ±(2^53 - 1) so it survives as a JavaScript number and in storage.
 */
export const int64 = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/)
    .transform(Number)
    .pipe(z.number().int()),
]);

/** A metric value: a number or MLflow's textual NaN / Infinity. */
export const metricValue = z.union([z.number(), z.string()]);

export const tagSchema = z.object({ key: z.string(), value: z.string().default('') });

/** Run id fields: `run_id`, or the legacy `run_uuid` older clients still send. */
export const runIdFields = { run_id: z.string().optional(), run_uuid: z.string().optional() };

export const viewType = z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']);
export const runStatus = z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']);

/** A GET field that may be repeated: `?experiment_ids=1&experiment_ids=2`. */
export const repeated = () => q.array(z.string()).optional();

export const experimentSchema = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string(),
  lifecycle_stage: z.string(),
  last_update_time: z.number(),
  creation_time: z.number(),
  tags: z.array(tagSchema),
});

export const metricSchema = z.object({
  key: z.string(),
  value: z.union([z.number(), z.string()]),
  timestamp: z.number(),
  step: z.number(),
});

export const runInfoSchema = z.object({
  run_id: z.string(),
  run_uuid: z.string(),
  run_name: z.string(),
  experiment_id: z.string(),
  user_id: z.string(),
  status: runStatus,
  start_time: z.number(),
  end_time: z.number().optional(),
  artifact_uri: z.string(),
  lifecycle_stage: z.string(),
});

export const datasetInputSchema = z.object({
  tags: z.array(tagSchema).default([]),
  dataset: z.object({
    name: z.string(),
    digest: z.string(),
    source_type: z.string().default(''),
    source: z.string().default(''),
    schema: z.string().optional(),
    profile: z.string().optional(),
  }),
});

export const runSchema = z.object({
  info: runInfoSchema,
  data: z.object({ metrics: z.array(metricSchema), params: z.array(tagSchema), tags: z.array(tagSchema) }),
  inputs: z.object({ dataset_inputs: z.array(datasetInputSchema) }),
});

export const modelVersionSchema = z.object({
  name: z.string(),
  version: z.string(),
  creation_timestamp: z.number(),
  last_updated_timestamp: z.number(),
  user_id: z.string(),
  current_stage: z.string(),
  description: z.string(),
  source: z.string(),
  run_id: z.string(),
  status: z.enum(['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY']),
  status_message: z.string(),
  tags: z.array(tagSchema),
  run_link: z.string(),
  aliases: z.array(z.string()),
});

export const registeredModelSchema = z.object({
  name: z.string(),
  creation_timestamp: z.number(),
  last_updated_timestamp: z.number(),
  user_id: z.string(),
  description: z.string(),
  latest_versions: z.array(modelVersionSchema),
  tags: z.array(tagSchema),
  aliases: z.array(z.object({ alias: z.string(), version: z.string() })),
});
