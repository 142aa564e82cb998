import { experimentRoutes } from '../../lambdas/experiments/api/routes';
import { shadowRoutes } from '../../lambdas/experiments/shadow/api/routes';
import { onlineFeatureRoutes } from '../../lambdas/features/online/routes';
import { monitoringReadRoutes } from '../../lambdas/monitoring/api/routes';
import { labelRoutes } from '../../lambdas/monitoring/labels/routes';
import { platformRoutes } from '../../lambdas/platform/health-api';
import type { RouteSpec } from '../../lambdas/platform/http/route';
import { servingRoutes } from '../../lambdas/serving/api/routes';
import { batchScoringRoutes } from '../../lambdas/serving/batch/routes';
import { deploymentRoutes } from '../../lambdas/serving/deploy/routes';
import { artifactRoutes } from '../../lambdas/tracking/api/artifact-routes';
import { registryRoutes } from '../../lambdas/tracking/api/registry-routes';
import { trackingRoutes } from '../../lambdas/tracking/api/tracking-routes';
import type { LocalPlan } from '../../local/template';

/** Every route spec the platform's constructs add to the API. */
const ALL_SPECS: readonly RouteSpec[] = [
  ...platformRoutes,
  ...onlineFeatureRoutes,
  ...trackingRoutes,
  ...registryRoutes,
  ...artifactRoutes,
  ...servingRoutes,
  ...deploymentRoutes,
  ...batchScoringRoutes,
  ...experimentRoutes,
  ...shadowRoutes,
  ...labelRoutes,
  ...monitoringReadRoutes,
];

/** A route of the synthesized template with the spec that defines its contract. */
export interface CatalogRoute {
  /** `POST /api/2.0/mlflow/runs/log-batch`. */
  readonly id: string;
  readonly method: string;
  readonly path: string;
  readonly functionId: string;
  readonly timeoutSeconds: number;
  readonly spec: RouteSpec;
}

/**
 * The template's routes joined with their specs. Routes come from the template (what is
 * deployed), schemas from the specs; a template route without a known spec is returned
 * in `unknown`, so a new API area cannot slip past the suite unnoticed.
 */
export function routeCatalogue(plan: LocalPlan): { routes: CatalogRoute[]; unknown: string[] } {
  const byKey = new Map(ALL_SPECS.map((s) => [`${s.method} ${s.path}`, s]));
  const routes: CatalogRoute[] = [];
  const unknown: string[] = [];
  for (const r of plan.routes) {
    const id = `${r.method} ${r.path}`;
    const spec = byKey.get(id);
    if (!spec) {
      unknown.push(id);
      continue;
    }
    const timeoutSeconds = plan.functions.get(r.functionId)?.timeoutSeconds ?? 30;
    routes.push({ id, method: r.method, path: r.path, functionId: r.functionId, timeoutSeconds, spec });
  }
  return { routes, unknown };
}

/** The names of a route's path parameters (`proxy` for `{proxy+}`). */
export function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1] as string);
}
