import { z } from 'zod';
import { defineRoute } from './http/route';

/** GET /health: answers 200 when the API and its functions are up. */
export const healthRoute = defineRoute({
  method: 'GET',
  path: '/health',
  summary: 'Liveness of the platform API',
  request: z.object({}),
  response: z.object({ status: z.literal('ok'), stage: z.string(), version: z.string() }),
});

export const platformRoutes = [healthRoute] as const;
