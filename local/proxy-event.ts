import type { APIGatewayProxyEvent } from 'aws-lambda';

/** Media types API Gateway passes base64-encoded (the API's binaryMediaTypes). */
export const BINARY_TYPES = ['application/octet-stream'];

/**
 * A request as the gateway received it: small and flat, so it crosses into a function's
 * sandbox cheaply; the sandbox turns it into the proxy event.
 */
export interface RawHttpRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** The query string without `?`, or ''. */
  readonly query: string;
  /** Header names and values, alternating, as received. */
  readonly rawHeaders: readonly string[];
  readonly body: Uint8Array | null;
  readonly resource: string;
  readonly pathParameters: Record<string, string> | null;
  readonly stage: string;
  readonly requestId: string;
  readonly sourceIp: string;
  readonly httpVersion: string;
}

/**
 * Builds the API Gateway REST proxy event (payload v1) for a request, as API Gateway
 * would hand it to the function.
 *
 * @example
 * const event = toProxyEvent({ method: 'GET', path: '/health', query: '', rawHeaders: [], body: null, ... });
 */
export function toProxyEvent(raw: RawHttpRequest): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  let contentType = '';
  let userAgent: string | null = null;
  for (let i = 0; i < raw.rawHeaders.length; i += 2) {
    const k = raw.rawHeaders[i] as string;
    const v = raw.rawHeaders[i + 1] as string;
    headers[k] = v;
    const list = multiValueHeaders[k];
    if (list) list.push(v);
    else multiValueHeaders[k] = [v];
    const lower = k.toLowerCase();
    if (lower === 'content-type') contentType = v;
    else if (lower === 'user-agent') userAgent = v;
  }
  let query: Record<string, string> | null = null;
  let multiQuery: Record<string, string[]> | null = null;
  if (raw.query) {
    query = {};
    multiQuery = {};
    for (const [k, v] of new URLSearchParams(raw.query)) {
      query[k] = v;
      const list = multiQuery[k];
      if (list) list.push(v);
      else multiQuery[k] = [v];
    }
  }
  const binary = BINARY_TYPES.includes(contentType.split(';')[0]?.trim().toLowerCase() ?? '');
  const body =
    raw.body && raw.body.byteLength > 0
      ? Buffer.from(raw.body.buffer, raw.body.byteOffset, raw.body.byteLength)
      : null;
  return {
    resource: raw.resource,
    path: raw.path,
    httpMethod: raw.method,
    headers,
    multiValueHeaders,
    queryStringParameters: query,
    multiValueQueryStringParameters: multiQuery,
    pathParameters: raw.pathParameters,
    stageVariables: null,
    body: body === null ? null : binary ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded: binary && body !== null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${raw.httpVersion}`,
      httpMethod: raw.method,
      path: `/${raw.stage}${raw.path}`,
      stage: raw.stage,
      requestId: raw.requestId,
      requestTimeEpoch: Date.now(),
      resourceId: raw.resource,
      resourcePath: raw.resource,
      identity: {
        sourceIp: raw.sourceIp,
        userArn: 'arn:aws:iam::000000000000:user/local',
        user: 'local',
        accessKey: null,
        accountId: '000000000000',
        caller: 'local',
        apiKey: null,
        apiKeyId: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        userAgent,
        clientCert: null,
      },
    },
  };
}
