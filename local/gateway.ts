import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { FunctionError, type FunctionHost } from './function-host';
import type { RawHttpRequest } from './proxy-event';
import { RouteMatcher } from './route-matcher';
import type { LocalRoute } from './template';

/** API Gateway's own payload limit; larger requests never reach a function. */
export const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface GatewayOptions {
  readonly routes: readonly LocalRoute[];
  readonly host: FunctionHost;
  readonly stage: string;
  readonly port?: number;
}

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
): void {
  const body = JSON.stringify({ error_code: code, message });
  res.writeHead(status, {
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

/**
 * The local API Gateway: serves every route of the synthesized template on 127.0.0.1
 * by invoking the same handler modules with proxy events.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const matcher = new RouteMatcher(options.routes);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    let url: URL;
    let match: ReturnType<RouteMatcher['match']>;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      match = matcher.match(req.method ?? 'GET', url.pathname);
    } catch {
      req.resume();
      return sendError(res, 400, 'BAD_REQUEST', `Malformed request path '${req.url}'`, requestId);
    }
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
    };
    let result: APIGatewayProxyResult;
    try {
      // The sandbox builds the proxy event: less work on the gateway's thread.
      result = (await options.host.invokeHttp(match.route.functionId, raw)) as APIGatewayProxyResult;
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
    const payload = result.body
      ? result.isBase64Encoded
        ? Buffer.from(result.body, 'base64')
        : Buffer.from(result.body, 'utf8')
      : Buffer.alloc(0);
    const headers: Record<string, string | number | string[]> = { 'x-request-id': requestId };
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
    for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k] = v.map(String);
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
