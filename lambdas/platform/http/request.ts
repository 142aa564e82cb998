import type { APIGatewayProxyEvent } from 'aws-lambda';
import { BadRequestError, MlopsError } from '../errors';
import { DEFAULT_MAX_BODY_BYTES, type RouteSpec } from './route';

/**
 * An object without a prototype: a client's header or query key named `constructor`,
 * `toString` or `__proto__` is then plain data, never a lookup on Object.prototype.
 */
function dataMap<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** Lower-cased single-value headers (HTTP header names are case-insensitive). */
export function normalizeHeaders(event: Pick<APIGatewayProxyEvent, 'headers'>): Record<string, string> {
  const out = dataMap<string>();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/** The query string as an object: one value as a string, a repeated key as an array. */
export function queryObject(
  event: Pick<APIGatewayProxyEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'>,
): Record<string, string | string[]> {
  const out = dataMap<string | string[]>();
  const multi = event.multiValueQueryStringParameters;
  if (multi) {
    for (const [k, vs] of Object.entries(multi)) {
      if (!vs || vs.length === 0) continue;
      out[k] = vs.length === 1 ? (vs[0] as string) : vs;
    }
    return out;
  }
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * The body's bytes. API Gateway passes every body base64-encoded (the API's binary media
 * types are `*\/*`); a text body (`isBase64Encoded: false`) is read as UTF-8.
 */
export function bodyBytes(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): Uint8Array {
  if (event.body === null || event.body === undefined || event.body === '') return new Uint8Array();
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mime === 'application/json' || mime.endsWith('+json');
}

const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Turns a proxy event into the raw input object a route's schema validates:
 * the query string for GET, the JSON body otherwise, path parameters merged in.
 * Throws 4xx errors for oversized bodies, wrong content types and malformed JSON.
 */
export function readInput(
  event: APIGatewayProxyEvent,
  spec: RouteSpec,
  headers: Record<string, string>,
): { input: Record<string, unknown>; rawBody?: Uint8Array } {
  // A text body is parsed as the string it is: encoding it to UTF-8 and decoding it back
  // cost a copy each on every request (the predict route's latency budget).
  const text = spec.body !== 'raw' && !event.isBase64Encoded && event.body ? event.body : undefined;
  const bytes = text === undefined ? bodyBytes(event) : undefined;
  const size = text === undefined ? (bytes as Uint8Array).byteLength : Buffer.byteLength(text, 'utf8');
  const limit = spec.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (size > limit) {
    throw new MlopsError(
      'REQUEST_TOO_LARGE',
      `Request body is ${size} bytes; this endpoint accepts at most ${limit} bytes.${spec.tooLargeHint ? ` ${spec.tooLargeHint}` : ''}`,
    );
  }
  const query = queryObject(event);
  const pathParameters = Object.assign(dataMap<string>(), event.pathParameters);
  if (spec.body === 'raw') return { input: { ...query, ...pathParameters }, rawBody: bytes as Uint8Array };
  if (BODYLESS.has(event.httpMethod) || size === 0) {
    return { input: { ...query, ...pathParameters } };
  }
  if (!isJsonContentType(headers['content-type'])) {
    throw new MlopsError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type '${headers['content-type'] ?? '(none)'}' is not supported; send the body as application/json`,
    );
  }
  let parsed: unknown;
  try {
    // A base64 body: a view of the decoded bytes, not a copy.
    parsed = JSON.parse(
      text ??
        Buffer.from((bytes as Uint8Array).buffer, (bytes as Uint8Array).byteOffset, size).toString('utf8'),
    );
  } catch (err) {
    throw new BadRequestError(`Malformed JSON body: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BadRequestError('The JSON body must be an object');
  }
  if (nestingDepth(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new BadRequestError(`The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`);
  }
  return { input: { ...(parsed as Record<string, unknown>), ...pathParameters } };
}

/**
 * No route's contract nests deeper than a few levels; a body nested thousands deep would
 * make recursive code further on (JSON.stringify in messages, structuredClone) overflow
 * the stack, so it is refused here, once.
 */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of a parsed JSON value, counted without recursion and up to `limit + 1`. */
export function nestingDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}
