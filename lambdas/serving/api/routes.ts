import { z } from 'zod';
import { defineRoute } from '../../platform/http/route';

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Row = z.record(z.string(), Scalar);
const ModelName = z.string().min(1).max(256);
const Version = z.string().regex(/^\d{1,9}$/, 'version must be a version number');

/** Open Inference Protocol v2 datatypes. */
const Datatype = z.enum([
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
]);
const TensorMeta = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) });
const InferRequest = z.strictObject({
  name: ModelName,
  version: Version.optional(),
  id: z.string().max(256).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        shape: z.array(z.number().int().min(0)).min(1).max(2),
        datatype: Datatype,
        data: z.array(z.unknown()),
        parameters: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1),
  outputs: z
    .array(
      z.strictObject({ name: z.string().min(1), parameters: z.record(z.string(), z.unknown()).optional() }),
    )
    .optional(),
});
const InferResponse = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  parameters: z.object({
    variant: z.string(),
    request_id: z.string(),
    /** With `parameters.unit_id` and a running A/B test: the experiment and the arm that scored. */
    experiment: z.string().optional(),
    arm: z.string().optional(),
  }),
  outputs: z.array(TensorMeta.extend({ data: z.array(z.unknown()) })),
});

/** POST /v2/models/{name}/infer: Open Inference Protocol v2 inference (KServe, Triton, Seldon). */
export const inferRoute = defineRoute({
  method: 'POST',
  path: '/v2/models/{name}/infer',
  summary: 'Score input tensors with the served version (Open Inference Protocol v2)',
  request: InferRequest,
  response: InferResponse,
});

/** POST /v2/models/{name}/versions/{version}/infer: the same, for a named version. */
export const inferVersionRoute = defineRoute({
  method: 'POST',
  path: '/v2/models/{name}/versions/{version}/infer',
  summary: 'Score input tensors with a named version (Open Inference Protocol v2)',
  request: InferRequest.extend({ version: Version }),
  response: InferResponse,
});

const MetadataRequest = z.strictObject({ name: ModelName, version: Version.optional() });
const MetadataResponse = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(TensorMeta),
  outputs: z.array(TensorMeta),
  parameters: z.record(z.string(), z.unknown()).optional(),
});

/** GET /v2/models/{name}: model metadata, inputs and outputs from the signature. */
export const metadataRoute = defineRoute({
  method: 'GET',
  path: '/v2/models/{name}',
  summary: "The served model's inputs and outputs with datatypes and shapes",
  request: MetadataRequest,
  response: MetadataResponse,
});

export const metadataVersionRoute = defineRoute({
  method: 'GET',
  path: '/v2/models/{name}/versions/{version}',
  summary: "A served version's inputs and outputs with datatypes and shapes",
  request: MetadataRequest.extend({ version: Version }),
  response: MetadataResponse,
});

const ReadyResponse = z.object({ name: z.string(), ready: z.boolean(), version: z.string().optional() });

/** GET /v2/models/{name}/ready: 200 when the model loaded, else 503 with the reason. */
export const modelReadyRoute = defineRoute({
  method: 'GET',
  path: '/v2/models/{name}/ready',
  summary: 'Whether the served model is loaded and takes requests',
  request: MetadataRequest,
  response: ReadyResponse,
});

export const modelVersionReadyRoute = defineRoute({
  method: 'GET',
  path: '/v2/models/{name}/versions/{version}/ready',
  summary: 'Whether a version is loaded here and takes requests',
  request: MetadataRequest.extend({ version: Version }),
  response: ReadyResponse,
});

/** GET /v2/health/live: the server answers. */
export const liveRoute = defineRoute({
  method: 'GET',
  path: '/v2/health/live',
  summary: 'Liveness of the serving function',
  request: z.object({}),
  response: z.object({ live: z.boolean() }),
});

/** GET /v2/health/ready: 200 when its model is loaded, else 503. */
export const serverReadyRoute = defineRoute({
  method: 'GET',
  path: '/v2/health/ready',
  summary: 'Readiness of the serving function (its model loaded)',
  request: z.object({}),
  response: z.object({ ready: z.boolean() }),
});

const isScalar = (v: unknown): boolean =>
  v === null ||
  typeof v === 'string' ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v));
const isBoundedString = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= 256;
const isScalarList = (v: unknown): boolean => Array.isArray(v) && v.every(isScalar);
/** A plain JSON object whose every value passes `check` (`__proto__` is left to the schema). */
function isRecordOf(v: unknown, check: (x: unknown) => boolean): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  for (const k in v) if (k === '__proto__' || !check((v as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * The predict request's common shapes (entity keys, instances or dataframe records, with an
 * optional unit id) checked without zod: predict's latency budget is under a millisecond,
 * and this runs in a few hundred nanoseconds. True only for what the schema accepts
 * unchanged; `dataframe_split` and every bad request go to the schema and its messages.
 */
export function isPlainPredictRequest(input: Readonly<Record<string, unknown>>): boolean {
  let payloads = 0;
  for (const k in input) {
    const v = input[k];
    if (k === 'name' || k === 'unit_id') {
      if (!isBoundedString(v)) return false;
    } else if (k === 'entities') {
      if (!isRecordOf(v, isScalarList)) return false;
      payloads++;
    } else if (k === 'instances' || k === 'dataframe_records') {
      if (!Array.isArray(v) || !v.every((row) => isRecordOf(row, isScalar))) return false;
      payloads++;
    } else return false;
  }
  return payloads === 1 && 'name' in input;
}

/** POST /v1/models/{name}/predict: JSON rows as MLflow's scoring server takes them, or Feast-style entity keys. */
export const predictRoute = defineRoute({
  method: 'POST',
  path: '/v1/models/{name}/predict',
  summary: 'Score JSON rows of features, or entity keys whose features are read online',
  accepts: isPlainPredictRequest,
  request: z
    .strictObject({
      name: ModelName,
      instances: z.array(Row).optional(),
      dataframe_records: z.array(Row).optional(),
      dataframe_split: z
        .strictObject({ columns: z.array(z.string()).min(1), data: z.array(z.array(Scalar)) })
        .optional(),
      entities: z.record(z.string(), z.array(Scalar)).optional(),
      /** The unit (a user id) a running A/B test assigns to an arm (docs/experiments.md). */
      unit_id: z.string().min(1).max(256).optional(),
    })
    .refine(
      (r) =>
        [r.instances, r.dataframe_records, r.dataframe_split, r.entities].filter((x) => x !== undefined)
          .length === 1,
      { message: 'send exactly one of instances, dataframe_records, dataframe_split or entities' },
    ),
  response: z.object({
    model_name: z.string(),
    model_version: z.string(),
    variant: z.string(),
    request_id: z.string(),
    /** With `unit_id` and a running A/B test: the experiment and the arm that scored. */
    experiment: z.string().optional(),
    arm: z.string().optional(),
    predictions: z.array(z.number().nullable()),
    outputs: z.record(z.string(), z.array(z.unknown())),
  }),
});

/** GET /v1/models/{name}/versions/{version}/export: a short-lived download of the ONNX file, with signature and checksum. */
export const exportRoute = defineRoute({
  method: 'GET',
  path: '/v1/models/{name}/versions/{version}/export',
  summary: 'A presigned download of a version’s ONNX file with its signature and sha256',
  request: z.strictObject({ name: ModelName, version: Version }),
  response: z.object({
    model_name: z.string(),
    model_version: z.string(),
    onnx: z.object({
      url: z.string(),
      expires_in: z.number(),
      sha256: z.string(),
      size_bytes: z.number(),
      filename: z.string(),
    }),
    signature: z.unknown(),
  }),
});

export const servingRoutes = [
  inferRoute,
  inferVersionRoute,
  metadataRoute,
  metadataVersionRoute,
  modelReadyRoute,
  modelVersionReadyRoute,
  liveRoute,
  serverReadyRoute,
  predictRoute,
  exportRoute,
] as const;
