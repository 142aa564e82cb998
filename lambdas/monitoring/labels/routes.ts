import { z } from 'zod';
import { defineRoute } from '../../platform/http/route';
import { MAX_LABELS } from './labels';

const Value = z.union([z.number().finite(), z.boolean()]);

/** POST /v1/labels: delayed ground truth for logged predictions, by request id. */
export const postLabelsRoute = defineRoute({
  method: 'POST',
  path: '/v1/labels',
  summary: 'Store labels (ground truth) of logged predictions',
  request: z.strictObject({
    labels: z
      .array(
        z.strictObject({
          /** The `request_id` a predict answer carried. */
          request_id: z.string().min(1).max(256),
          /** One value, or one per row (in the order sent) for a request that scored several rows. */
          label: z.union([Value, z.array(Value).min(1).max(10_000)]),
          /** When the outcome was observed: epoch ms or ISO 8601. */
          timestamp: z.union([z.number().int().min(0), z.string().min(1).max(64)]).optional(),
        }),
      )
      .min(1)
      .max(MAX_LABELS, `labels must hold at most ${MAX_LABELS} labels per request`),
    /** Correct labels that differ from the stored ones instead of answering 409. */
    replace: z.boolean().optional(),
  }),
  response: z.object({ received: z.number(), written: z.number(), unchanged: z.number() }),
});

export const labelRoutes = [postLabelsRoute] as const;
