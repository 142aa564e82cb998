import { z } from 'zod';
import { defineRoute } from '../../platform/http/route';
import {
  DriftReportsResponseSchema,
  PerformanceResponseSchema,
  RequestMetricsResponseSchema,
} from './schemas';

const ModelName = z.string().min(1).max(256);
const Version = z.string().regex(/^\d{1,9}$/, 'version must be a registered version number');
/** Entries a list answers. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
/** The longest metrics range: CloudWatch keeps 1-minute points for 15 days. */
export const MAX_MINUTES = 14 * 24 * 60;
/** An integer sent as query text (`?limit=10`), checked by `schema`. */
const intText = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), schema);
const Limit = intText(z.number().int().min(1).max(MAX_LIMIT)).optional();

/** GET /v1/models/{name}/monitoring/drift: the drift job's reports, newest first. */
export const driftReportsRoute = defineRoute({
  method: 'GET',
  path: '/v1/models/{name}/monitoring/drift',
  summary: "The drift job's reports of a model: scores per feature over time, the latest with its histograms",
  request: z.strictObject({
    name: ModelName,
    /** One version's reports. @default every version's */
    version: Version.optional(),
    /** @default 50 */
    limit: Limit,
  }),
  response: DriftReportsResponseSchema,
});

/** GET /v1/models/{name}/monitoring/performance: the performance job's latest windows. */
export const performanceRoute = defineRoute({
  method: 'GET',
  path: '/v1/models/{name}/monitoring/performance',
  summary: 'Performance of a model from delayed labels (and experiment outcomes), per version and window',
  request: z.strictObject({
    name: ModelName,
    /** One version's windows. @default every version's */
    version: Version.optional(),
    /** Windows answered, newest first. @default 50 */
    limit: Limit,
  }),
  response: PerformanceResponseSchema,
});

/** GET /v1/models/{name}/monitoring/metrics: request count, error rate and latency per version. */
export const requestMetricsRoute = defineRoute({
  method: 'GET',
  path: '/v1/models/{name}/monitoring/metrics',
  summary: "A model's request count, error rate and latency percentiles per version, from CloudWatch",
  request: z.strictObject({
    name: ModelName,
    /** How far back, ending now. @default 60 */
    minutes: intText(z.number().int().min(1).max(MAX_MINUTES)).optional(),
    /** Seconds per point: a multiple of 60. @default 60 */
    period: intText(
      z
        .number()
        .int()
        .min(60)
        .max(86_400)
        .refine((p) => p % 60 === 0, 'period must be a multiple of 60 seconds'),
    ).optional(),
    /** One version's metrics. @default the model's newest versions */
    version: Version.optional(),
  }),
  response: RequestMetricsResponseSchema,
});

export const monitoringReadRoutes = [driftReportsRoute, performanceRoute, requestMetricsRoute] as const;
