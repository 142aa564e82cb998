import { randomUUID } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { toMlopsError } from '../errors';
import { logger } from '../observability';

type Request = middy.Request<APIGatewayProxyEvent, APIGatewayProxyResult>;

const started = new WeakMap<Request, number>();

/** Picks the request id API Gateway assigned, else the caller's `x-request-id`, else a new one. */
export function requestIdOf(event: APIGatewayProxyEvent): string {
  const fromGateway = event.requestContext?.requestId;
  if (fromGateway) return fromGateway;
  const headers = event.headers ?? {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === 'x-request-id' && v) return v;
  return randomUUID();
}

/** Where the request line goes: stdout, which Lambda sends to the function's log group. */
export type RequestLineSink = (line: string) => void;

/** The request line's content, handed to a route that writes it inside a line of its own. */
export interface RequestLine {
  /** The response's status and the request's latency so far (ms). */
  readonly status: number;
  readonly latencyMs: number;
  /**
   * The request log's and metrics' members as JSON text, each preceded by a comma
   * (`,"service":"serving","requestId":...,"Requests":1,"Latency":1.2`), leaving out
   * `timestamp` and `status`, which the route's line carries itself, and `level` and
   * `message`, which would make it a log message (Lambda filters those by level); empty
   * when logging and metrics are both off.
   */
  readonly members: string;
  /** The request metrics' EMF directive (JSON), for the line's `_aws.CloudWatchMetrics`; undefined when metrics are off. */
  readonly directive: string | undefined;
}

/**
 * Lets a route write the request line inside its own line, so that a request costs one
 * stdout write instead of two (the predict route's prediction log line).
 */
export interface RequestLog {
  /**
   * Takes over this request's line: `write` is called once, with the final status and
   * latency, after the handler (on success and on error), instead of the middleware writing
   * a line of its own. The last call wins.
   */
  fold(write: (line: RequestLine) => void): void;
}

const folds = new WeakMap<APIGatewayProxyEvent, (line: RequestLine) => void>();

/**
 * The request log of an event the observability middleware is handling.
 *
 * @example
 * requestLogOf(event).fold((req) => sink(`{"mine":1${req.members}}`));
 */
export function requestLogOf(event: APIGatewayProxyEvent): RequestLog {
  return {
    fold: (write) => {
      folds.set(event, write);
    },
  };
}

const stdoutSink: RequestLineSink = (line) => {
  process.stdout.write(line);
};

/**
 * Sets the request id on the logger and the response, and writes **one** JSON line per
 * request that is both the structured request log (method, resource, status, latency) and
 * a CloudWatch embedded-metric-format record (`Requests`, `Latency`, `Errors4xx`,
 * `Errors5xx` under the function's namespace, dimension `service`), as Powertools' logger
 * and metrics would write in two. One small object, one `JSON.stringify`, one write: this
 * runs on every request of every route, the predict route's latency budget included.
 * The log part honours the logger's level (INFO and below), the metrics part
 * `POWERTOOLS_METRICS_DISABLED`; with neither, nothing is written.
 *
 * @example
 * middy(handler).use(observability());
 */
export function observability(
  sink: RequestLineSink = stdoutSink,
): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  const env = process.env;
  const service = env.POWERTOOLS_SERVICE_NAME ?? 'mlops';
  const namespace = env.POWERTOOLS_METRICS_NAMESPACE ?? 'ServerlessMlops';
  const metricsOn = env.POWERTOOLS_METRICS_DISABLED !== 'true';
  // Read once: the level comes from POWERTOOLS_LOG_LEVEL at init, and reading it through
  // Powertools' invocation store costs ~0.1 ms per request.
  const logOn = LOGS_INFO.has(logger.getLevelName());
  const finish = (request: Request): void => {
    const status = request.response?.statusCode ?? 500;
    const ms = performance.now() - (started.get(request) ?? performance.now());
    const requestId = requestIdOf(request.event);
    request.response = {
      ...(request.response ?? { statusCode: 500, body: '' }),
      headers: { ...request.response?.headers, 'x-request-id': requestId },
    };
    const fold = folds.get(request.event);
    if (fold) {
      folds.delete(request.event);
      fold(foldedLine(request, status, ms, requestId));
      return;
    }
    if (!logOn && !metricsOn) return;
    const latencyMs = Math.round(ms * 100) / 100;
    const now = Date.now();
    const line: Record<string, unknown> = {};
    if (logOn) {
      line.level = 'INFO';
      line.message = 'request';
      line.timestamp = new Date(now).toISOString();
      line.service = service;
      line.requestId = requestId;
      line.method = request.event.httpMethod;
      line.resource = request.event.resource;
      line.status = status;
      line.latencyMs = latencyMs;
    }
    if (metricsOn) {
      const error = status >= 500 ? 'Errors5xx' : status >= 400 ? 'Errors4xx' : undefined;
      line._aws = {
        Timestamp: now,
        CloudWatchMetrics: [
          {
            Namespace: namespace,
            Dimensions: [['service']],
            Metrics: error
              ? [...REQUEST_METRICS, error === 'Errors5xx' ? ERRORS_5XX : ERRORS_4XX]
              : REQUEST_METRICS,
          },
        ],
      };
      line.service = service;
      line.Requests = 1;
      line.Latency = ms;
      if (error) line[error] = 1;
    }
    sink(`${JSON.stringify(line)}\n`);
  };
  /** The same members as the line below, as JSON text for a route's own line. */
  const foldedLine = (request: Request, status: number, ms: number, requestId: string): RequestLine => {
    let members = '';
    if (logOn) {
      // No `level`: Lambda's log-level filtering reads it, and must never drop the route's line.
      members += `,"service":${json(service)},"requestId":${json(requestId)}`;
      members += `,"method":${json(request.event.httpMethod)},"resource":${json(request.event.resource)}`;
      members += `,"latencyMs":${Math.round(ms * 100) / 100}`;
    }
    let directive: string | undefined;
    if (metricsOn) {
      const error = status >= 500 ? 'Errors5xx' : status >= 400 ? 'Errors4xx' : undefined;
      directive = json({
        Namespace: namespace,
        Dimensions: [['service']],
        Metrics: error
          ? [...REQUEST_METRICS, error === 'Errors5xx' ? ERRORS_5XX : ERRORS_4XX]
          : REQUEST_METRICS,
      });
      if (!logOn) members += `,"service":${json(service)}`;
      members += `,"Requests":1,"Latency":${Number.isFinite(ms) ? ms : 0}`;
      if (error) members += `,"${error}":1`;
    }
    return { status, latencyMs: ms, members, directive };
  };
  return {
    before: (request) => {
      started.set(request, performance.now());
      logger.appendKeys({ requestId: requestIdOf(request.event) });
    },
    after: finish,
    onError: (request) => {
      // Map any thrown error to the one error body; only non-domain errors are 5xx.
      const err = toMlopsError(request.error);
      if (err.status >= 500) logger.error('unhandled error', { error: request.error as Error });
      // A 503 is temporary (a model loading, a throttled dependency): say when to retry.
      request.response = errorResponse(
        err.status,
        err.toBody(),
        err.status === 503 ? { 'retry-after': '1' } : {},
      );
      finish(request);
    },
  };
}

const json = JSON.stringify;
const REQUEST_METRICS = [
  { Name: 'Requests', Unit: 'Count' },
  { Name: 'Latency', Unit: 'Milliseconds' },
];
const ERRORS_4XX = { Name: 'Errors4xx', Unit: 'Count' };
const ERRORS_5XX = { Name: 'Errors5xx', Unit: 'Count' };
/** Logger levels at which an INFO line is written. */
const LOGS_INFO = new Set<string>(['TRACE', 'DEBUG', 'INFO']);

/** The JSON error response every route answers with. */
export function errorResponse(
  status: number,
  body: { error_code: string; message: string },
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
