import { z } from 'zod';
import { defineRoute } from '../../../platform/http/route';
import { ShadowSpecSchema } from '../config';

const ModelName = z.string().min(1).max(256);

/** A model's shadow as the API answers it. */
export const ShadowConfigSchema = ShadowSpecSchema.extend({
  model: z.string(),
  created_at: z.string(),
});

const ShadowResponse = z.object({ shadow: ShadowConfigSchema });

/** POST /v1/models/{name}/shadow: score a copy of live traffic with a version, never answering with it. */
export const setShadowRoute = defineRoute({
  method: 'POST',
  path: '/v1/models/{name}/shadow',
  summary: 'Shadow a registered version on a copy of live requests (its predictions are only logged)',
  request: ShadowSpecSchema.extend({ name: ModelName }),
  response: ShadowResponse,
});

/** GET /v1/models/{name}/shadow. */
export const getShadowRoute = defineRoute({
  method: 'GET',
  path: '/v1/models/{name}/shadow',
  summary: "The model's shadow configuration",
  request: z.strictObject({ name: ModelName }),
  response: ShadowResponse,
});

/** DELETE /v1/models/{name}/shadow: stop shadowing (stored pairs stay for the report). */
export const deleteShadowRoute = defineRoute({
  method: 'DELETE',
  path: '/v1/models/{name}/shadow',
  summary: 'Stop shadowing; the pairs already stored stay',
  request: z.strictObject({ name: ModelName }),
  response: z.object({ model: z.string(), deleted: z.boolean() }),
});

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day, yyyy-mm-dd');

/** GET /v1/models/{name}/shadow/report: the shadow compared with the live answers. */
export const shadowReportRoute = defineRoute({
  method: 'GET',
  path: '/v1/models/{name}/shadow/report',
  summary: 'Agreement, differences and prediction distributions of the shadow against live',
  request: z.strictObject({
    name: ModelName,
    /** First day included. @default all stored days */
    since: Day.optional(),
    /** The shadow version to report on. @default the configured shadow */
    version: z.string().regex(/^\d+$/).optional(),
    tolerance: z.coerce.number().nonnegative().optional(),
    threshold: z.coerce.number().min(0).max(1).optional(),
  }),
  response: z.object({
    model: z.string(),
    since: z.string().nullable(),
    task: z.enum(['classification', 'regression']),
    shadow_version: z.string(),
    live_versions: z.array(z.string()),
    rows: z.number(),
    scored: z.number(),
    shadow_errors: z.number(),
    agreement_rule: z.string(),
    agreement_rate: z.number().nullable(),
    mean_abs_diff: z.number().nullable(),
    max_abs_diff: z.number().nullable(),
    histogram: z.object({
      edges: z.array(z.number()),
      live: z.array(z.number()),
      shadow: z.array(z.number()),
    }),
    divergence: z.object({
      threshold: z.number(),
      rate: z.number().nullable(),
      divergent: z.boolean(),
      reason: z.string(),
    }),
    errors: z.array(z.string()),
  }),
});

export const shadowRoutes = [setShadowRoute, getShadowRoute, deleteShadowRoute, shadowReportRoute];
