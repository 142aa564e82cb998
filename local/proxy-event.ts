import type { APIGatewayProxyEvent } from 'aws-lambda';

/** API Gateway's content type for a request that sends none. */
const DEFAULT_CONTENT_TYPE = 'application/json';

/**
 * Whether a media type (`image/png; charset=x` is read as `image/png`) matches one of an
 * API's binary media types, as API Gateway matches them: case-insensitively, where `*`
 * in a pattern stands for any run of characters (`*\/*` for every type, `image/*`).
 *
 * @example
 * matchesMediaType(['image/*'], 'image/png; q=1') // true
 */
export function matchesMediaType(patterns: readonly string[], mediaType: string | undefined): boolean {
  const type = (mediaType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!type) return false;
  return patterns.some((p) => {
    const pattern = p.trim().toLowerCase();
    if (!pattern.includes('*')) return pattern === type;
    const re = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${re.join('.*')}$`).test(type);
  });
}

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
  /** The API's binary media types (from the template): bodies of these types arrive base64-encoded. */
  readonly binaryMediaTypes: readonly string[];
  /** The signer's ARN when the gateway checks IAM (`mlops up --auth`). @default the local user */
  readonly callerArn?: string;
}

/**
 * Builds the API Gateway REST proxy event (payload v1) for a request, as API Gateway
 * would hand it to the function.
 *
 * @example
 * const event = toProxyEvent({ method: 'GET', path: '/health', query: '', rawHeaders: [], body: null, ... });
 */
export function toProxyEvent(raw: RawHttpRequest): APIGatewayProxyEvent {
  // Maps, not object literals: a header or query key named `constructor` or `__proto__`
  // must be data, never a lookup on Object.prototype.
  const headers = new Map<string, string>();
  const multiValueHeaders = new Map<string, string[]>();
  let contentType: string | undefined;
  let userAgent: string | null = null;
  for (let i = 0; i < raw.rawHeaders.length; i += 2) {
    const k = raw.rawHeaders[i] as string;
    const v = raw.rawHeaders[i + 1] as string;
    headers.set(k, v);
    const list = multiValueHeaders.get(k);
    if (list) list.push(v);
    else multiValueHeaders.set(k, [v]);
    const lower = k.toLowerCase();
    if (lower === 'content-type') contentType = v;
    else if (lower === 'user-agent') userAgent = v;
  }
  let query: Map<string, string> | null = null;
  let multiQuery: Map<string, string[]> | null = null;
  if (raw.query) {
    query = new Map();
    multiQuery = new Map();
    for (const [k, v] of new URLSearchParams(raw.query)) {
      query.set(k, v);
      const list = multiQuery.get(k);
      if (list) list.push(v);
      else multiQuery.set(k, [v]);
    }
  }
  const binary = matchesMediaType(raw.binaryMediaTypes, contentType ?? DEFAULT_CONTENT_TYPE);
  const body =
    raw.body && raw.body.byteLength > 0
      ? Buffer.from(raw.body.buffer, raw.body.byteOffset, raw.body.byteLength)
      : null;
  return {
    resource: raw.resource,
    path: raw.path,
    httpMethod: raw.method,
    // fromEntries defines own properties, as JSON.parse does for the event Lambda receives.
    headers: Object.fromEntries(headers),
    multiValueHeaders: Object.fromEntries(multiValueHeaders),
    queryStringParameters: query && Object.fromEntries(query),
    multiValueQueryStringParameters: multiQuery && Object.fromEntries(multiQuery),
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
        userArn: raw.callerArn ?? 'arn:aws:iam::000000000000:user/local',
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
