import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { MlopsError } from '../lambdas/platform/errors';
import { FsObjectStore } from '../lambdas/platform/fs-object-store';
import { ObjectKeyError } from '../lambdas/platform/object-store';
import {
  LOCAL_S3_PATH,
  LocalMultipartUploads,
  localSigningKey,
  verifyLocalGrant,
} from '../lambdas/tracking/artifacts/local-s3';
import type { AuthDecision, AuthRequest } from './auth';
import { FunctionError, type FunctionHost } from './function-host';
import { matchesMediaType, type RawHttpRequest } from './proxy-event';
import { RouteMatcher } from './route-matcher';
import type { LocalRoute } from './template';

/** API Gateway's own payload limit; larger requests never reach a function. */
export const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Lambda's synchronous invocation payload limit, for the event and for the response (6 MB). */
export const LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Room the proxy event takes besides the body (headers, request context). */
const EVENT_OVERHEAD_BYTES = 8 * 1024;

export interface GatewayOptions {
  readonly routes: readonly LocalRoute[];
  readonly host: FunctionHost;
  readonly stage: string;
  readonly port?: number;
  /**
   * Root of the filesystem object store: when set, the gateway also serves the local
   * presigned URLs (`/_local/s3/...`) functions sign, as S3 serves them on AWS.
   */
  readonly objectStoreRoot?: string;
  /**
   * IAM authorization of API routes (`mlops up --auth`): SigV4 and the role's policy.
   * @default - none: every request is let through, as before
   */
  readonly authorize?: (req: AuthRequest) => Promise<AuthDecision>;
  /**
   * The function id to invoke for a route (an alias route picks a version by its weights,
   * see lambda-api.ts). @default the route's function
   */
  readonly target?: (route: LocalRoute) => string;
  /**
   * Pages served beside the API under a path prefix (the web console at `/console`; local
   * only, CloudFront serves it on AWS). They are not API routes: no authorization here.
   * @default none
   */
  readonly sites?: readonly LocalSite[];
}

/** Static pages the gateway serves under `prefix` (and `prefix/...`). */
export interface LocalSite {
  readonly prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void | Promise<void>;
}

/** Largest body one local presigned PUT (an object or a part) takes; S3 allows 5 GiB. */
export const LOCAL_S3_MAX_PUT_BYTES = 512 * 1024 * 1024;

export interface RunningGateway {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error_code: code, message });
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
  });
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The size of a proxy response as Lambda counts it (its JSON). */
function responseBytes(result: APIGatewayProxyResult): number {
  let n = Buffer.byteLength(result.body ?? '') + 256;
  for (const [k, v] of Object.entries(result.headers ?? {})) n += k.length + String(v).length + 6;
  for (const [k, v] of Object.entries(result.multiValueHeaders ?? {}))
    n += k.length + JSON.stringify(v).length + 4;
  return n;
}

/**
 * The body API Gateway sends for a proxy response: a base64 body is decoded to bytes when
 * the request's first `Accept` type (else the response's `Content-Type`) is one of the
 * API's binary media types, and passed on as base64 text otherwise.
 */
function responsePayload(
  result: APIGatewayProxyResult,
  binaryMediaTypes: readonly string[],
  accept: string | undefined,
  headers: Record<string, unknown>,
): Buffer {
  if (!result.body) return Buffer.alloc(0);
  if (!result.isBase64Encoded) return Buffer.from(result.body, 'utf8');
  const firstAccept = accept?.split(',')[0]?.trim();
  const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  const binary = firstAccept
    ? matchesMediaType(binaryMediaTypes, firstAccept)
    : matchesMediaType(binaryMediaTypes, typeof contentType === 'string' ? contentType : undefined);
  return binary ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
}

/**
 * The local API Gateway: serves every route of the synthesized template on 127.0.0.1
 * by invoking the same handler modules with proxy events.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const matcher = new RouteMatcher(options.routes);
  const objects = options.objectStoreRoot ? new FsObjectStore(options.objectStoreRoot) : undefined;
  const signingKeys = new Map<string, Promise<Buffer>>();

  /** Serves a local presigned URL: GET streams the object, PUT stores an object or a part. */
  const serveObject = async (req: IncomingMessage, res: ServerResponse, url: URL, requestId: string) => {
    if (!objects) {
      req.resume();
      return sendError(
        res,
        404,
        'ENDPOINT_NOT_FOUND',
        `No endpoint ${req.method} ${url.pathname}`,
        requestId,
      );
    }
    try {
      const grant = await verifyLocalGrant(req.method ?? '', url.pathname, url.searchParams, (bucket) => {
        let key = signingKeys.get(bucket);
        if (!key) {
          key = localSigningKey(objects, bucket);
          key.catch(() => signingKeys.delete(bucket));
          signingKeys.set(bucket, key);
        }
        return key;
      });
      if (grant.method === 'GET') {
        req.resume();
        const info = await objects.head(grant.bucket, grant.key);
        if (!info)
          return sendError(res, 404, 'RESOURCE_DOES_NOT_EXIST', 'The object does not exist', requestId);
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': info.size,
          'x-request-id': requestId,
        });
        createReadStream(objects.uri(grant.bucket, grant.key))
          .on('error', () => res.destroy())
          .pipe(res);
        return;
      }
      const body = await readBody(req, LOCAL_S3_MAX_PUT_BYTES);
      if (body === 'too-large') {
        return sendError(
          res,
          413,
          'REQUEST_TOO_LARGE',
          `A part is at most ${LOCAL_S3_MAX_PUT_BYTES} bytes here`,
          requestId,
        );
      }
      let etag: string;
      if (grant.uploadId !== undefined) {
        const uploads = new LocalMultipartUploads(objects, grant.bucket);
        etag = await uploads.putPart(grant.uploadId, grant.partNumber ?? Number.NaN, body);
      } else {
        await objects.put(grant.bucket, grant.key, body);
        etag = `"${createHash('md5').update(body).digest('hex')}"`;
      }
      res.writeHead(200, { etag, 'content-length': 0, 'x-request-id': requestId });
      res.end();
    } catch (err) {
      req.resume();
      if (err instanceof MlopsError) return sendError(res, err.status, err.code, err.message, requestId);
      if (err instanceof ObjectKeyError) {
        return sendError(
          res,
          400,
          'INVALID_PARAMETER_VALUE',
          `Cannot store '${err.key}': ${err.message}`,
          requestId,
        );
      }
      throw err;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    let url: URL;
    let match: ReturnType<RouteMatcher['match']>;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      match = url.pathname.startsWith(LOCAL_S3_PATH)
        ? undefined
        : matcher.match(req.method ?? 'GET', url.pathname);
    } catch {
      req.resume();
      return sendError(res, 400, 'BAD_REQUEST', `Malformed request path '${req.url}'`, requestId);
    }
    if (url.pathname.startsWith(LOCAL_S3_PATH)) return serveObject(req, res, url, requestId);
    const site = options.sites?.find(
      (s) => url.pathname === s.prefix || url.pathname.startsWith(`${s.prefix}/`),
    );
    if (site) return site.handle(req, res, url);
    if (!match) {
      req.resume();
      return sendError(
        res,
        404,
        'ENDPOINT_NOT_FOUND',
        `No endpoint ${req.method} ${url.pathname}`,
        requestId,
      );
    }
    if ('methodNotAllowed' in match) {
      req.resume();
      return sendError(
        res,
        405,
        'METHOD_NOT_ALLOWED',
        `${req.method} is not allowed on ${url.pathname}; use ${match.methodNotAllowed.join(' or ')}`,
        requestId,
      );
    }
    const body = await readBody(req, GATEWAY_MAX_BODY_BYTES);
    if (body === 'too-large') {
      return sendError(
        res,
        413,
        'REQUEST_TOO_LARGE',
        `Request body exceeds ${GATEWAY_MAX_BODY_BYTES} bytes`,
        requestId,
      );
    }
    let callerArn: string | undefined;
    if (options.authorize) {
      const decision = await options.authorize({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.search.slice(1),
        rawHeaders: req.rawHeaders,
        body,
      });
      if ('refused' in decision) {
        const { status, code, message, errorType } = decision.refused;
        return sendError(res, status, code, message, requestId, { 'x-amzn-errortype': errorType });
      }
      callerArn = decision.principal.arn;
    }
    // The event carries the body base64-encoded when its type is binary: 4/3 of its size.
    const binaryBody = matchesMediaType(
      match.route.binaryMediaTypes,
      req.headers['content-type'] ?? 'application/json',
    );
    const eventBytes = (binaryBody ? Math.ceil(body.length / 3) * 4 : body.length) + EVENT_OVERHEAD_BYTES;
    if (eventBytes > LAMBDA_MAX_PAYLOAD_BYTES) {
      return sendError(
        res,
        413,
        'REQUEST_TOO_LARGE',
        `Request body of ${body.length} bytes exceeds what a Lambda invocation carries (6 MB with base64 encoding)`,
        requestId,
      );
    }
    const raw: RawHttpRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.slice(1),
      rawHeaders: req.rawHeaders,
      body: body.length ? body : null,
      resource: match.route.path,
      pathParameters: match.pathParameters,
      stage: options.stage,
      requestId,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      httpVersion: req.httpVersion,
      binaryMediaTypes: match.route.binaryMediaTypes,
      callerArn,
    };
    let result: APIGatewayProxyResult;
    try {
      // The sandbox builds the proxy event: less work on the gateway's thread.
      const target = options.target ? options.target(match.route) : match.route.functionId;
      result = (await options.host.invokeHttp(target, raw)) as APIGatewayProxyResult;
    } catch (err) {
      const timeout = err instanceof FunctionError && err.errorType === 'TimeoutError';
      return sendError(
        res,
        timeout ? 504 : 502,
        'INTERNAL_ERROR',
        timeout ? 'Endpoint request timed out' : `Function error: ${(err as Error).message}`,
        requestId,
      );
    }
    if (!result || typeof result.statusCode !== 'number') {
      return sendError(res, 502, 'INTERNAL_ERROR', 'Malformed Lambda proxy response', requestId);
    }
    if (responseBytes(result) > LAMBDA_MAX_PAYLOAD_BYTES) {
      // Lambda refuses the response and API Gateway answers 502, as here.
      return sendError(
        res,
        502,
        'INTERNAL_ERROR',
        'Lambda response exceeds the 6 MB payload limit',
        requestId,
      );
    }
    const headers: Record<string, string | number | string[]> = Object.create(null);
    headers['x-request-id'] = requestId;
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
    for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k] = v.map(String);
    const payload = responsePayload(result, match.route.binaryMediaTypes, req.headers.accept, headers);
    headers['content-length'] = payload.length;
    res.writeHead(result.statusCode, headers);
    res.end(payload);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent)
        sendError(res, 500, 'INTERNAL_ERROR', `Gateway error: ${(err as Error).message}`, 'gateway');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
