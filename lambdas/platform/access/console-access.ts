import type { Capability, RouteKey } from './roles';

/** Capabilities whose every route only reads: the console's identity may call them all. */
const CONSOLE_READS: ReadonlySet<Capability> = new Set([
  'tracking.read',
  'registry.read',
  'features.read',
  'health',
]);

/**
 * Capabilities that also have GET routes the console's pages read (the deployment
 * timeline, a batch-scoring job's status); their other methods act, so only GET is allowed.
 */
const CONSOLE_GETS: ReadonlySet<Capability> = new Set(['deploy', 'pipeline.start']);

/**
 * Whether the web console's signed-in identity (the Cognito identity pool's role) may call a
 * route: the console is read-only, so it holds the read capabilities whatever their method
 * (MLflow's searches are POSTs) and the GET routes of `deploy` and `pipeline.start`; never a
 * write, a prediction or a presigned URL (`tracking.write`, even on GET).
 *
 * @example
 * consoleMayCall({ method: 'POST', path: '/api/2.0/mlflow/runs/search' }, 'tracking.read') // true
 * consoleMayCall({ method: 'POST', path: '/v1/deployments/{model}/rollback' }, 'deploy') // false
 */
export function consoleMayCall(route: RouteKey, access: Capability): boolean {
  if (CONSOLE_READS.has(access)) return true;
  return route.method.toUpperCase() === 'GET' && CONSOLE_GETS.has(access);
}
