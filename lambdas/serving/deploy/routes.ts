import { z } from 'zod';
import { defineRoute } from '../../platform/http/route';

const ModelName = z.string().min(1).max(256);
const Version = z.string().regex(/^\d{1,9}$/, 'version must be a registered version number');

/** POST /v1/deployments: starts the canary workflow of a registered model version. */
export const startDeploymentRoute = defineRoute({
  method: 'POST',
  path: '/v1/deployments',
  summary: 'Canary-deploy a model version',
  request: z.strictObject({
    model: ModelName,
    version: Version,
    steps: z.array(z.number().int().min(1).max(100)).min(1).max(20).optional(),
    bake_seconds: z.number().int().min(0).max(86_400).optional(),
  }),
  response: z.object({
    deployment_id: z.string(),
    execution_name: z.string(),
    model: z.string(),
    version: z.string(),
  }),
});

/** GET /v1/deployments/{model}: the live alias's versions and weights and each deployment's record. */
export const deploymentStatusRoute = defineRoute({
  method: 'GET',
  path: '/v1/deployments/{model}',
  summary: 'Deployment status of a model',
  request: z.object({ model: ModelName }),
  response: z.object({
    model: z.string(),
    live: z.object({
      lambda_version: z.string(),
      model_version: z.string().optional(),
      weights: z.record(z.string(), z.number()),
    }),
    deployments: z.array(z.record(z.string(), z.string())),
  }),
});

/** POST /v1/deployments/{model}/rollback: all traffic back to the version before the current deployment. */
export const rollbackRoute = defineRoute({
  method: 'POST',
  path: '/v1/deployments/{model}/rollback',
  summary: 'Roll a model back to its previous version',
  request: z.object({ model: ModelName, reason: z.string().max(1000).optional() }),
  response: z.object({ model: z.string(), version: z.string(), live_lambda_version: z.string() }),
});

export const deploymentRoutes = [startDeploymentRoute, deploymentStatusRoute, rollbackRoute] as const;
