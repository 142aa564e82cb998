import type { LocalRoute } from './template';

export interface RouteMatch {
  readonly route: LocalRoute;
  readonly pathParameters: Record<string, string> | null;
}

interface Compiled {
  readonly route: LocalRoute;
  readonly segments: string[];
  /** API Gateway's precedence: more static segments first, then params, greedy last. */
  readonly rank: number[];
}

/**
 * Matches request paths to API Gateway resource paths as API Gateway does: static
 * segments beat `{param}`, which beats a trailing greedy `{proxy+}`.
 */
export class RouteMatcher {
  private readonly exact = new Map<string, Map<string, LocalRoute>>();
  private readonly patterns: Compiled[] = [];

  constructor(routes: readonly LocalRoute[]) {
    for (const route of routes) {
      if (!route.path.includes('{')) {
        const byMethod = this.exact.get(route.path) ?? new Map<string, LocalRoute>();
        byMethod.set(route.method, route);
        this.exact.set(route.path, byMethod);
        continue;
      }
      const segments = route.path.split('/').filter(Boolean);
      const rank = segments.map((s) => (s.endsWith('+}') ? 2 : s.startsWith('{') ? 1 : 0));
      this.patterns.push({ route, segments, rank });
    }
    this.patterns.sort((a, b) => {
      for (let i = 0; i < Math.max(a.rank.length, b.rank.length); i++) {
        const d = (a.rank[i] ?? 3) - (b.rank[i] ?? 3);
        if (d !== 0) return d;
      }
      return 0;
    });
  }

  /**
   * The route for a method and path; `undefined` when no resource matches, and
   * `{ methodNotAllowed }` when the resource exists without that method.
   */
  match(method: string, path: string): RouteMatch | { methodNotAllowed: string[] } | undefined {
    const normalized = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const byMethod = this.exact.get(normalized);
    if (byMethod) {
      const route = byMethod.get(method) ?? byMethod.get('ANY');
      return route ? { route, pathParameters: null } : { methodNotAllowed: [...byMethod.keys()] };
    }
    const parts = normalized.split('/').filter(Boolean);
    const allowed: string[] = [];
    for (const p of this.patterns) {
      const params = matchSegments(p.segments, parts);
      if (!params) continue;
      if (p.route.method === method || p.route.method === 'ANY')
        return { route: p.route, pathParameters: params };
      allowed.push(p.route.method);
    }
    return allowed.length ? { methodNotAllowed: allowed } : undefined;
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i] as string;
    if (seg.startsWith('{') && seg.endsWith('+}')) {
      if (i >= parts.length) return undefined;
      params[seg.slice(1, -2)] = parts.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.startsWith('{')) params[seg.slice(1, -1)] = decodeURIComponent(part);
    else if (seg !== part) return undefined;
  }
  return parts.length === pattern.length ? params : undefined;
}
