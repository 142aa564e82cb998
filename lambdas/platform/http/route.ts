import { z } from 'zod';
import type { RequestLog } from './middleware';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One API operation: its method, API Gateway resource path, and the zod schemas of its
 * request and response. The spec is the single source of the contract: the CDK construct
 * creates the method from it, the Lambda router validates with it, the local gateway
 * serves it (through the synthesized template) and the API reference is generated from it.
 */
export interface RouteSpec<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly method: HttpMethod;
  /** API Gateway resource path: `/api/2.0/mlflow/runs/get`, `/models/{name}`, `/files/{proxy+}`. */
  readonly path: string;
  readonly summary: string;
  /**
   * Schema of the request input: the query string for GET and DELETE-without-body
   * (repeated keys become arrays), else the JSON body; path parameters are merged in.
   */
  readonly request: Req;
  readonly response?: Res;
  /** `raw` hands the body to the implementation as bytes instead of parsing JSON. @default 'json' */
  readonly body?: 'json' | 'raw';
  /**
   * Largest accepted body in bytes. @default 4 MiB: API Gateway passes bodies base64-encoded
   * (4/3 larger), and the event must fit Lambda's 6 MB payload limit.
   */
  readonly maxBodyBytes?: number;
  /** Appended to the 413 a too-large body gets: how to send it instead. */
  readonly tooLargeHint?: string;
  /**
   * A fast check for a hot route's common request shape: true only for inputs the `request`
   * schema accepts unchanged (no defaults, transforms or stripped keys), which are then used
   * as they are; anything else goes through the schema, so every answer to a bad request is
   * still the schema's. @default - every input goes through the schema
   */
  readonly accepts?: (input: Readonly<Record<string, unknown>>) => boolean;
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Declares a route with its types inferred from the schemas.
 *
 * @example
 * export const getRun = defineRoute({
 *   method: 'GET', path: '/api/2.0/mlflow/runs/get', summary: 'Get a run',
 *   request: z.object({ run_id: z.string() }),
 * });
 */
export function defineRoute<Req extends z.ZodType, Res extends z.ZodType = z.ZodType>(
  spec: RouteSpec<Req, Res>,
): RouteSpec<Req, Res> {
  if (!spec.path.startsWith('/')) throw new Error(`route path '${spec.path}' must start with '/'`);
  return spec;
}

/** Query-string helpers: GET fields arrive as strings, repeated keys as arrays. */
export const q = {
  /** A repeated key; a single occurrence arrives as a string and is wrapped. */
  array<T extends z.ZodType>(item: T) {
    return z.preprocess((v) => (v === undefined ? v : Array.isArray(v) ? v : [v]), z.array(item));
  },
  /** An integer sent as text (`?max_results=10`). */
  int() {
    return z.preprocess(
      (v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
      z.number().int(),
    );
  },
  /** A boolean sent as text (`true`/`false`). */
  bool() {
    return z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
  },
};

/** A binding of a route spec to the function that implements it. */
export interface RouteBinding {
  readonly spec: RouteSpec;
  readonly impl: (input: unknown, ctx: RequestContext) => Promise<unknown> | unknown;
}

export interface RequestContext {
  readonly requestId: string;
  /** Caller identity as API Gateway saw it (IAM user ARN), or 'local'. */
  readonly caller: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The request body's bytes, for `body: 'raw'` routes. */
  readonly rawBody?: Uint8Array;
  readonly pathParameters: Readonly<Record<string, string>>;
  /**
   * The request line of the observability middleware, which a route may write inside its
   * own line (one stdout write per request). @default - absent outside `httpApi`
   */
  readonly requestLog?: RequestLog;
}

/**
 * Binds a spec to its implementation; the input is typed from the spec's request schema.
 *
 * @example
 * bind(getRun, async ({ run_id }) => ({ run: await store.getRun(run_id) }));
 */
export function bind<Req extends z.ZodType, Res extends z.ZodType>(
  spec: RouteSpec<Req, Res>,
  impl: (
    input: z.infer<Req>,
    ctx: RequestContext,
  ) => Promise<z.input<Res> | HttpResult> | z.input<Res> | HttpResult,
): RouteBinding {
  return { spec: spec as RouteSpec, impl: impl as RouteBinding['impl'] };
}

/** A response other than 200 JSON: a status, headers, and a string or binary body. */
export class HttpResult {
  constructor(
    readonly status: number,
    readonly body: string | Uint8Array,
    readonly headers: Record<string, string> = {},
  ) {}
}
