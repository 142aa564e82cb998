/**
 * Who may call what: the capabilities a route needs and the roles that hold them. CDK
 * writes each role's IAM policy from these tables; the local gateway (`mlops up --auth`)
 * authorizes from the policies in the synthesized template, so both enforce one definition.
 */

/** What a route lets its caller do. */
export type Capability =
  /** Read experiments, runs, metrics and artifacts. */
  | 'tracking.read'
  /** Create and change experiments and runs; upload and delete artifacts. */
  | 'tracking.write'
  /** Read registered models, versions, aliases and their change log. */
  | 'registry.read'
  /** Register, rename, tag and delete models and versions. */
  | 'registry.write'
  /** Move a version between stages; set or remove an alias (what serving resolves). */
  | 'registry.transition'
  /** Read online feature values. */
  | 'features.read'
  /** Push feature rows into the online store. */
  | 'features.write'
  /** Build a point-in-time training set (planned route). */
  | 'training-set'
  /** Start the training pipeline (planned route). */
  | 'pipeline.start'
  /** Deploy and roll back a model to an endpoint (planned routes). */
  | 'deploy'
  /** Ask a served model for predictions (planned routes). */
  | 'predict'
  /** Platform liveness. */
  | 'health';

export type AccessRoleName = 'data-scientist' | 'deployer' | 'serving';

export interface AccessRoleSpec {
  /** The stack output naming the role's ARN. */
  readonly outputName: string;
  readonly description: string;
  readonly capabilities: readonly Capability[];
}

/**
 * The platform's roles. Least privilege: a role's policy lists exactly the routes of its
 * capabilities, as `execute-api:Invoke` on each route's method and path.
 */
export const ACCESS_ROLES: Readonly<Record<AccessRoleName, AccessRoleSpec>> = {
  'data-scientist': {
    outputName: 'DataScientistRoleArn',
    description: 'Tracks experiments and artifacts, reads the registry and features, starts training',
    capabilities: [
      'tracking.read',
      'tracking.write',
      'registry.read',
      'features.read',
      'training-set',
      'pipeline.start',
      'health',
    ],
  },
  deployer: {
    outputName: 'DeployerRoleArn',
    description: 'Registers, promotes and aliases model versions; deploys and rolls back models',
    capabilities: ['registry.read', 'registry.write', 'registry.transition', 'deploy', 'health'],
  },
  serving: {
    outputName: 'ServingRoleArn',
    description: 'Asks served models for predictions, and nothing else',
    capabilities: ['predict'],
  },
};

/** Template metadata on each access role's `AWS::IAM::Role`: its name in ACCESS_ROLES. */
export const ACCESS_ROLE_METADATA = 'mlops:access-role';

/** A route by method and API Gateway resource path (`{param}` and `{proxy+}` allowed). */
export interface RouteKey {
  readonly method: string;
  readonly path: string;
}

/**
 * Routes that are designed but not built yet, so that a role holding their capability is
 * granted them now and its policy does not change shape when they ship.
 */
export const PLANNED_ROUTES: readonly (RouteKey & { readonly access: Capability })[] = [
  { method: 'POST', path: '/v1/models/{name}/predict', access: 'predict' },
  { method: 'POST', path: '/v2/models/{name}/infer', access: 'predict' },
];

/** Whether a role holds a capability. */
export function roleHolds(role: AccessRoleName, capability: Capability): boolean {
  return ACCESS_ROLES[role].capabilities.includes(capability);
}

/**
 * The `METHOD/path` part of a route's execute-api ARN: path parameters become `*`, which
 * IAM matches across `/` as well (a `{proxy+}` spans segments).
 *
 * @example
 * invokeResource({ method: 'PUT', path: '/api/2.0/mlflow-artifacts/artifacts/{proxy+}' }) // 'PUT/api/2.0/mlflow-artifacts/artifacts/*'
 */
export function invokeResource(route: RouteKey): string {
  return `${route.method.toUpperCase()}${route.path.replace(/\{[^}]+\}/g, '*')}`;
}

/**
 * IAM's match of a resource pattern against a value: `*` is any run of characters
 * (including none and `/`), `?` is one character, everything else matches itself, case-sensitively.
 *
 * @example
 * iamPatternMatches('GET/api/2.0/mlflow-artifacts/artifacts/*', 'GET/api/2.0/mlflow-artifacts/artifacts/1/a.txt') // true
 */
export function iamPatternMatches(pattern: string, value: string): boolean {
  // Iterative wildcard match (no regex): linear in practice, no backtracking blow-up.
  let p = 0;
  let v = 0;
  let star = -1;
  let mark = 0;
  while (v < value.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === value[v])) {
      p++;
      v++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = v;
    } else if (star !== -1) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** A concrete request path for a resource path: `{x}` becomes `x`, `{x+}` two segments. */
function samplePath(path: string): string {
  return path.replace(/\{[^}]+\+\}/g, 'x/y').replace(/\{[^}]+\}/g, 'x');
}

/**
 * The routes a role's patterns reach beyond its capabilities: a wildcard that stands for a
 * path parameter can also match a longer route of another capability. Empty when exact.
 *
 * @example
 * overreach(['GET/v2/models/*'], new Set(['predict']), [{ method: 'GET', path: '/v2/models/{name}/export', access: 'registry.read' }])
 * // [{ pattern: 'GET/v2/models/*', route: ... }]
 */
export function overreach(
  patterns: readonly string[],
  held: ReadonlySet<string>,
  routes: readonly (RouteKey & { readonly access: string })[],
): { pattern: string; route: RouteKey & { readonly access: string } }[] {
  const found: { pattern: string; route: RouteKey & { readonly access: string } }[] = [];
  for (const route of routes) {
    if (held.has(route.access)) continue;
    const request = `${route.method.toUpperCase()}${samplePath(route.path)}`;
    const pattern = patterns.find((p) => iamPatternMatches(p, request));
    if (pattern) found.push({ pattern, route });
  }
  return found;
}
