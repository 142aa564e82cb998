import { type Capability, PLANNED_ROUTES, type RouteKey } from './roles';

const mlflow = (path: string) => `/api/2.0/mlflow/${path}`;
const artifacts = (path: string) => `/api/2.0/mlflow-artifacts/${path}`;

/**
 * The capability each route of the API needs, by `METHOD path` (the spec's resource path).
 * Every route the API serves must be listed: synth fails on one that is not, so a new
 * route is never reachable by a role by accident.
 */
const ROUTE_ACCESS: ReadonlyMap<string, Capability> = new Map(
  Object.entries({
    'GET /health': 'health',

    // Feature store (lambdas/features/online/routes.ts).
    'POST /features/get-online-features': 'features.read',
    'POST /features/push': 'features.write',
    'GET /features/registry': 'features.read',

    // MLflow tracking (lambdas/tracking/api/tracking-routes.ts).
    [`GET ${mlflow('experiments/get')}`]: 'tracking.read',
    [`GET ${mlflow('experiments/get-by-name')}`]: 'tracking.read',
    [`POST ${mlflow('experiments/search')}`]: 'tracking.read',
    [`GET ${mlflow('experiments/search')}`]: 'tracking.read',
    [`GET ${mlflow('runs/get')}`]: 'tracking.read',
    [`POST ${mlflow('runs/search')}`]: 'tracking.read',
    [`GET ${mlflow('metrics/get-history')}`]: 'tracking.read',
    [`GET ${mlflow('artifacts/list')}`]: 'tracking.read',
    [`POST ${mlflow('experiments/create')}`]: 'tracking.write',
    [`POST ${mlflow('experiments/update')}`]: 'tracking.write',
    [`POST ${mlflow('experiments/delete')}`]: 'tracking.write',
    [`POST ${mlflow('experiments/restore')}`]: 'tracking.write',
    [`POST ${mlflow('experiments/set-experiment-tag')}`]: 'tracking.write',
    [`POST ${mlflow('runs/create')}`]: 'tracking.write',
    [`POST ${mlflow('runs/update')}`]: 'tracking.write',
    [`POST ${mlflow('runs/delete')}`]: 'tracking.write',
    [`POST ${mlflow('runs/restore')}`]: 'tracking.write',
    [`POST ${mlflow('runs/log-metric')}`]: 'tracking.write',
    [`POST ${mlflow('runs/log-parameter')}`]: 'tracking.write',
    [`POST ${mlflow('runs/set-tag')}`]: 'tracking.write',
    [`POST ${mlflow('runs/delete-tag')}`]: 'tracking.write',
    [`POST ${mlflow('runs/log-batch')}`]: 'tracking.write',
    [`POST ${mlflow('runs/log-inputs')}`]: 'tracking.write',

    // MLflow artifact proxy (lambdas/tracking/api/artifact-routes.ts).
    [`GET ${artifacts('artifacts')}`]: 'tracking.read',
    [`GET ${artifacts('artifacts/{proxy+}')}`]: 'tracking.read',
    [`PUT ${artifacts('artifacts/{proxy+}')}`]: 'tracking.write',
    [`DELETE ${artifacts('artifacts/{proxy+}')}`]: 'tracking.write',
    [`POST ${artifacts('mpu/create/{proxy+}')}`]: 'tracking.write',
    [`POST ${artifacts('mpu/complete/{proxy+}')}`]: 'tracking.write',
    [`POST ${artifacts('mpu/abort/{proxy+}')}`]: 'tracking.write',
    // It may presign a PUT: a write, since IAM cannot tell the query's method apart.
    [`GET ${artifacts('presigned/{proxy+}')}`]: 'tracking.write',

    // MLflow model registry (lambdas/tracking/api/registry-routes.ts).
    [`GET ${mlflow('registered-models/get')}`]: 'registry.read',
    [`GET ${mlflow('registered-models/search')}`]: 'registry.read',
    [`POST ${mlflow('registered-models/search')}`]: 'registry.read',
    [`GET ${mlflow('registered-models/get-latest-versions')}`]: 'registry.read',
    [`POST ${mlflow('registered-models/get-latest-versions')}`]: 'registry.read',
    [`GET ${mlflow('registered-models/alias')}`]: 'registry.read',
    [`GET ${mlflow('model-versions/get')}`]: 'registry.read',
    [`GET ${mlflow('model-versions/search')}`]: 'registry.read',
    [`GET ${mlflow('model-versions/get-download-uri')}`]: 'registry.read',
    'GET /api/2.0/mlops/registered-models/changes': 'registry.read',
    [`POST ${mlflow('registered-models/create')}`]: 'registry.write',
    [`POST ${mlflow('registered-models/rename')}`]: 'registry.write',
    [`PATCH ${mlflow('registered-models/update')}`]: 'registry.write',
    [`DELETE ${mlflow('registered-models/delete')}`]: 'registry.write',
    [`POST ${mlflow('registered-models/set-tag')}`]: 'registry.write',
    [`DELETE ${mlflow('registered-models/delete-tag')}`]: 'registry.write',
    [`POST ${mlflow('model-versions/create')}`]: 'registry.write',
    [`PATCH ${mlflow('model-versions/update')}`]: 'registry.write',
    [`DELETE ${mlflow('model-versions/delete')}`]: 'registry.write',
    [`POST ${mlflow('model-versions/set-tag')}`]: 'registry.write',
    [`DELETE ${mlflow('model-versions/delete-tag')}`]: 'registry.write',
    [`POST ${mlflow('model-versions/transition-stage')}`]: 'registry.transition',
    [`POST ${mlflow('registered-models/alias')}`]: 'registry.transition',
    [`DELETE ${mlflow('registered-models/alias')}`]: 'registry.transition',

    // Serving (lambdas/serving/api/routes.ts): the inference protocol, metadata and
    // readiness included, which inference clients call before scoring.
    'POST /v2/models/{name}/infer': 'predict',
    'POST /v2/models/{name}/versions/{version}/infer': 'predict',
    'GET /v2/models/{name}': 'predict',
    'GET /v2/models/{name}/versions/{version}': 'predict',
    'GET /v2/models/{name}/ready': 'predict',
    'GET /v2/models/{name}/versions/{version}/ready': 'predict',
    'GET /v2/health/live': 'predict',
    'GET /v2/health/ready': 'predict',
    'POST /v1/models/{name}/predict': 'predict',
    // The model file itself: a registry read, not a prediction.
    'GET /v1/models/{name}/versions/{version}/export': 'registry.read',
    // Canary deployments (lambdas/serving/deploy/routes.ts): the deployer's.
    'POST /v1/deployments': 'deploy',
    'GET /v1/deployments/{model}': 'deploy',
    'POST /v1/deployments/{model}/rollback': 'deploy',
    // Batch scoring (lambdas/serving/batch/routes.ts): a job the data scientist starts, as a pipeline run.
    'POST /v1/batch-scoring': 'pipeline.start',
    'GET /v1/batch-scoring/{id}': 'pipeline.start',
    // Delayed labels (lambdas/monitoring/labels/routes.ts): ground truth comes from the
    // application that asked for the predictions, as the serving role.
    'POST /v1/labels': 'predict',

    // A/B tests (lambdas/experiments/api/routes.ts): starting and stopping one moves traffic
    // between versions (the deployer's); reading and analysing them is a registry read.
    'POST /v1/experiments': 'deploy',
    'POST /v1/experiments/{id}/stop': 'deploy',
    'GET /v1/experiments': 'registry.read',
    'GET /v1/experiments/{id}': 'registry.read',
    'GET /v1/experiments/{id}/analysis': 'registry.read',
    // Outcomes come from the application that asked for the predictions, as the serving role.
    'POST /v1/experiments/{id}/outcomes': 'predict',
    // Shadow mode (lambdas/experiments/shadow/api/routes.ts): setting a shadow runs a version
    // on live traffic (never answering with it), the deployer's; the report is a read.
    'POST /v1/models/{name}/shadow': 'deploy',
    'DELETE /v1/models/{name}/shadow': 'deploy',
    'GET /v1/models/{name}/shadow': 'registry.read',
    'GET /v1/models/{name}/shadow/report': 'registry.read',
    // Monitoring reads (lambdas/monitoring/api/routes.ts): drift reports, performance from
    // labels and request metrics, read like the registry (the console's monitoring page).
    'GET /v1/models/{name}/monitoring/drift': 'registry.read',
    'GET /v1/models/{name}/monitoring/performance': 'registry.read',
    'GET /v1/models/{name}/monitoring/metrics': 'registry.read',
  } satisfies Record<string, Capability>),
);

/** Thrown at synth for a route that has no capability: names the table to add it to. */
export class UnclassifiedRouteError extends Error {
  constructor(readonly route: RouteKey) {
    super(
      `route ${route.method} ${route.path} has no capability: add it to ROUTE_ACCESS in lambdas/platform/access/route-access.ts`,
    );
    this.name = 'UnclassifiedRouteError';
  }
}

/**
 * The capability a route needs.
 *
 * @example
 * routeCapability({ method: 'POST', path: '/api/2.0/mlflow/runs/create' }) // 'tracking.write'
 */
export function routeCapability(route: RouteKey): Capability {
  const found =
    ROUTE_ACCESS.get(`${route.method.toUpperCase()} ${route.path}`) ??
    PLANNED_ROUTES.find((p) => p.method === route.method && p.path === route.path)?.access;
  if (!found) throw new UnclassifiedRouteError(route);
  return found;
}

/** Every classified route (built ones), for checks that the table has no stale entry. */
export function classifiedRoutes(): (RouteKey & { access: Capability })[] {
  return [...ROUTE_ACCESS].map(([key, access]) => {
    const at = key.indexOf(' ');
    return { method: key.slice(0, at), path: key.slice(at + 1), access };
  });
}
