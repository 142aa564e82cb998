import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { MlopsError } from '../errors';
import { observability, requestLogOf } from './middleware';
import { normalizeHeaders, readInput } from './request';
import { HttpResult, type RequestContext, type RouteBinding } from './route';
import { validate } from './validation';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Builds one Lambda handler serving a set of routes behind API Gateway's proxy
 * integration: find the route by method and resource, read and validate the input with
 * the route's schema, call the implementation, answer JSON. Cross-cutting concerns
 * (request id, logging, metrics, error mapping) are middy middleware.
 *
 * @example
 * export const handler = httpApi([bind(healthRoute, () => ({ status: 'ok' }))]);
 */
export function httpApi(bindings: readonly RouteBinding[]): ProxyHandler {
  const byKey = new Map<string, RouteBinding>();
  const methodsByResource = new Map<string, string[]>();
  for (const b of bindings) {
    const key = `${b.spec.method} ${b.spec.path}`;
    if (byKey.has(key)) throw new Error(`route ${key} is bound twice`);
    byKey.set(key, b);
    methodsByResource.set(b.spec.path, [...(methodsByResource.get(b.spec.path) ?? []), b.spec.method]);
  }

  const core = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const binding = byKey.get(`${event.httpMethod} ${event.resource}`);
    if (!binding) {
      const allowed = methodsByResource.get(event.resource);
      if (allowed) {
        throw new MlopsError(
          'METHOD_NOT_ALLOWED',
          `${event.httpMethod} is not allowed on ${event.resource}; use ${allowed.join(' or ')}`,
        );
      }
      throw new MlopsError('ENDPOINT_NOT_FOUND', `No endpoint ${event.httpMethod} ${event.path}`);
    }
    const headers = normalizeHeaders(event);
    const { input, rawBody } = readInput(event, binding.spec, headers);
    const valid = binding.spec.accepts?.(input) ? input : validate(binding.spec.request, input);
    const ctx: RequestContext = {
      requestId: event.requestContext?.requestId ?? '',
      caller: event.requestContext?.identity?.userArn ?? 'anonymous',
      headers,
      rawBody,
      pathParameters: (event.pathParameters ?? {}) as Record<string, string>,
      requestLog: requestLogOf(event),
    };
    const result = await binding.impl(valid, ctx);
    if (result instanceof HttpResult) {
      const binary = typeof result.body !== 'string';
      return {
        statusCode: result.status,
        headers: {
          'content-type': binary ? 'application/octet-stream' : 'application/json',
          ...result.headers,
        },
        body: binary ? Buffer.from(result.body).toString('base64') : (result.body as string),
        isBase64Encoded: binary,
      };
    }
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(result ?? {}),
    };
  };

  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(observability())
    .handler(core) as ProxyHandler;
}
