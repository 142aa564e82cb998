import { z } from 'zod';
import { defineRoute } from '../../platform/http/route';
import { RegistryDefinitionsSchema } from '../definitions/repo';
import { MAX_ENTITIES } from './retrieval';

const Status = z.enum(['PRESENT', 'NOT_FOUND', 'NULL_VALUE', 'OUTSIDE_MAX_AGE']);
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** POST /features/get-online-features: Feast's request and response shapes. */
export const getOnlineFeaturesRoute = defineRoute({
  method: 'POST',
  path: '/features/get-online-features',
  summary: 'Read feature values for entities from the online store',
  request: z
    .strictObject({
      features: z.array(z.string().min(1)).min(1).optional(),
      feature_service: z.string().min(1).optional(),
      entities: z.record(
        z.string(),
        z.array(Scalar).max(MAX_ENTITIES, `at most ${MAX_ENTITIES} entity rows per request`),
      ),
      full_feature_names: z.boolean().optional(),
    })
    .refine((r) => (r.features === undefined) !== (r.feature_service === undefined), {
      message: 'pass exactly one of features or feature_service',
    }),
  response: z.object({
    metadata: z.object({ feature_names: z.array(z.string()) }),
    results: z.array(
      z.object({
        values: z.array(z.unknown()),
        statuses: z.array(Status),
        event_timestamps: z.array(z.string().nullable()),
      }),
    ),
  }),
});

/** POST /features/push: Feast's push request (`df` as columns). */
export const pushRoute = defineRoute({
  method: 'POST',
  path: '/features/push',
  summary: 'Write fresh rows of a push source to the online and/or offline store',
  request: z.strictObject({
    push_source_name: z.string().min(1),
    df: z.record(z.string(), z.array(Scalar)),
    to: z.enum(['online', 'offline', 'online_and_offline']).default('online'),
  }),
  response: z.object({ rows: z.number(), views: z.array(z.string()), written: z.number(), to: z.string() }),
});

/** GET /features/registry: what is applied (Feast's `feast registry-dump`) and how fresh each view is online. */
export const featureRegistryRoute = defineRoute({
  method: 'GET',
  path: '/features/registry',
  summary: 'The applied feature registry, with the materialization state of each feature view',
  request: z.strictObject({}),
  response: z.object({
    serial: z.number(),
    applied_at: z.string(),
    definitions: RegistryDefinitionsSchema,
    materialization: z.array(
      z.object({
        view: z.string(),
        /** End of the last completed materialization (its data is online up to here), or null before the first. */
        materialized_until: z.string().nullable(),
        /** Newest event time written online by a run or a push, or null if none is known. */
        newest_event: z.string().nullable(),
        /** A materialization run holds the view's lease now. */
        running: z.boolean(),
      }),
    ),
  }),
});

export const onlineFeatureRoutes = [getOnlineFeaturesRoute, pushRoute, featureRegistryRoute] as const;
