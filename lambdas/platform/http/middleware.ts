import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { toMlopsError } from '../errors';
import { logger, metrics } from '../observability';

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

/**
 * Sets the request id on the logger and the response, logs one structured line per
 * request and emits EMF metrics (count, latency, 4xx, 5xx).
 */
export function observability(): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  const finish = (request: Request): void => {
    const status = request.response?.statusCode ?? 500;
    const ms = performance.now() - (started.get(request) ?? performance.now());
    const requestId = requestIdOf(request.event);
    request.response = {
      ...(request.response ?? { statusCode: 500, body: '' }),
      headers: { ...request.response?.headers, 'x-request-id': requestId },
    };
    metrics.addMetric('Requests', MetricUnit.Count, 1);
    metrics.addMetric('Latency', MetricUnit.Milliseconds, ms);
    if (status >= 500) metrics.addMetric('Errors5xx', MetricUnit.Count, 1);
    else if (status >= 400) metrics.addMetric('Errors4xx', MetricUnit.Count, 1);
    logger.info('request', {
      requestId,
      method: request.event.httpMethod,
      resource: request.event.resource,
      status,
      latencyMs: Math.round(ms * 100) / 100,
    });
    metrics.publishStoredMetrics();
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
      request.response = errorResponse(err.status, err.toBody());
      finish(request);
    },
  };
}

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
