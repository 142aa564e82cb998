import { Readable } from 'node:stream';
import { NormalizedSchema } from '@smithy/core/schema';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * SDK transports for adapter tests. They replace only the SDK client's `requestHandler`,
 * the lowest layer: the SDK's own serializers, signer, retry strategy and deserializers
 * all run, so a test sees the exact HTTP request AWS would receive and the adapter parses
 * responses the way it would parse AWS's.
 */

/** One HTTP request as the SDK serialized it. */
export interface RecordedRequest {
  readonly method: string;
  readonly hostname: string;
  readonly path: string;
  readonly query: Readonly<Record<string, unknown>>;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** `x-amz-target` without the service prefix: the operation of a JSON-protocol call. */
  readonly operation: string | undefined;
}

/** A response to hand back, AWS-shaped: JSON objects are serialized, strings sent as is. */
export interface CannedResponse {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | object;
}

type Handle = (request: RequestLike) => Promise<{ response: ResponseLike }>;
interface RequestLike {
  method: string;
  hostname: string;
  path: string;
  query?: Record<string, unknown>;
  headers: Record<string, string>;
  body?: unknown;
}
interface ResponseLike {
  statusCode: number;
  headers: Record<string, string>;
  body: Readable;
}

/** The shape of a requestHandler the SDK accepts (what NodeHttpHandler offers). */
export interface TestTransport {
  handle: Handle;
  updateHttpClientConfig(): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

function transport(handle: Handle, destroy: () => void = () => undefined): TestTransport {
  return { handle, updateHttpClientConfig: () => undefined, httpHandlerConfigs: () => ({}), destroy };
}

async function bodyText(body: unknown): Promise<string> {
  if (body === undefined || body === null) return '';
  // Decode bytes directly: the SDK's JSON bodies are Uint8Arrays that warn when used as strings.
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  if (typeof body === 'string') return body;
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

function toResponse(r: CannedResponse): ResponseLike {
  const json = typeof r.body === 'object';
  const text = r.body === undefined ? '' : json ? JSON.stringify(r.body) : String(r.body);
  return {
    statusCode: r.status ?? 200,
    headers: {
      'x-amzn-requestid': 'test-request',
      ...(json ? { 'content-type': 'application/x-amz-json-1.1' } : {}),
      ...r.headers,
    },
    body: Readable.from([Buffer.from(text)]),
  };
}

/**
 * A transport that records every request and answers from `respond` (never the network).
 *
 * @example
 * const t = recordingTransport((req) => ({ body: { QueryExecutionId: 'q1' } }));
 * const athena = new AthenaClient({ ...clientConfig('athena'), requestHandler: t.handler });
 */
export function recordingTransport(respond: (request: RecordedRequest, index: number) => CannedResponse): {
  handler: TestTransport;
  requests: RecordedRequest[];
} {
  const requests: RecordedRequest[] = [];
  const handler = transport(async (req) => {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const target = headers['x-amz-target'];
    const recorded: RecordedRequest = {
      method: req.method,
      hostname: req.hostname,
      path: req.path,
      query: req.query ?? {},
      headers,
      body: await bodyText(req.body),
      operation: target?.slice(target.indexOf('.') + 1),
    };
    requests.push(recorded);
    return { response: toResponse(respond(recorded, requests.length - 1)) };
  });
  return { handler, requests };
}

/**
 * A transport to a real engine (dynalite, s3rver) that first answers `fault(attempt)` when it
 * returns one: faults injected below the SDK, so its retry strategy sees them as it would
 * see AWS's. `attempts` counts every request that reached the transport.
 *
 * @example
 * const t = faultyTransport((n) => (n <= 2 ? S3_SLOW_DOWN : undefined));
 */
export function faultyTransport(fault: (attempt: number) => CannedResponse | undefined): {
  handler: TestTransport;
  readonly attempts: number;
} {
  const real = new NodeHttpHandler();
  let attempts = 0;
  const handler = transport(
    async (req) => {
      attempts += 1;
      const injected = fault(attempts);
      if (injected) {
        await bodyText(req.body); // drain, as a server would read the request
        return { response: toResponse(injected) };
      }
      return real.handle(req as never) as unknown as Promise<{ response: ResponseLike }>;
    },
    () => real.destroy(),
  );
  return {
    handler,
    get attempts() {
      return attempts;
    },
  };
}

/** DynamoDB's answer when a table's throughput is exceeded (JSON 1.0, HTTP 400). */
export const DYNAMO_THROTTLED: CannedResponse = {
  status: 400,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: {
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded.',
  },
};

/** DynamoDB's account-level throttling answer. */
export const DYNAMO_THROTTLING: CannedResponse = {
  status: 400,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: {
    __type: 'com.amazon.coral.availability#ThrottlingException',
    message: 'Rate of requests exceeds the allowed throughput.',
  },
};

/** An S3 REST-XML error answer. */
export function s3ErrorResponse(status: number, code: string, message: string): CannedResponse {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>test</RequestId></Error>`,
  };
}

export const S3_SLOW_DOWN = s3ErrorResponse(503, 'SlowDown', 'Please reduce your request rate.');
export const S3_INTERNAL_ERROR = s3ErrorResponse(
  500,
  'InternalError',
  'We encountered an internal error. Please try again.',
);

/**
 * Where a JSON request body departs from the operation's input shape in the SDK's own
 * service model: members the model does not define, required members missing, and values
 * of the wrong JSON type. An empty list means AWS's validation has nothing to reject.
 *
 * @example
 * expect(modelViolations(JSON.parse(req.body), StartQueryExecutionInput$)).toEqual([]);
 */
export function modelViolations(value: unknown, schema: unknown, path = '$'): string[] {
  const ns = NormalizedSchema.of(schema as Parameters<typeof NormalizedSchema.of>[0]);
  if (value === undefined || value === null) return [];
  if (ns.isStructSchema()) {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object`];
    const struct = ns.getSchema() as unknown as [
      number,
      string,
      string,
      unknown,
      string[],
      unknown[],
      number?,
    ];
    const members = new Map([...ns.structIterator()]);
    const obj = value as Record<string, unknown>;
    const out: string[] = [];
    for (const name of struct[4].slice(0, struct[6] ?? 0)) {
      if (obj[name] === undefined) out.push(`${path}.${name}: required by the model, missing`);
    }
    for (const [k, v] of Object.entries(obj)) {
      const m = members.get(k);
      if (!m) out.push(`${path}.${k}: not a member of ${ns.getName(true)}`);
      else out.push(...modelViolations(v, m, `${path}.${k}`));
    }
    return out;
  }
  if (ns.isListSchema()) {
    if (!Array.isArray(value)) return [`${path}: expected an array`];
    return value.flatMap((v, i) => modelViolations(v, ns.getValueSchema(), `${path}[${i}]`));
  }
  if (ns.isMapSchema()) {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object (map)`];
    return Object.entries(value).flatMap(([k, v]) => modelViolations(v, ns.getValueSchema(), `${path}.${k}`));
  }
  if (ns.isStringSchema() || ns.isBlobSchema())
    return typeof value === 'string' ? [] : [`${path}: expected a string`];
  if (ns.isBooleanSchema()) return typeof value === 'boolean' ? [] : [`${path}: expected a boolean`];
  if (ns.isNumericSchema() || ns.isTimestampSchema()) {
    return typeof value === 'number' ? [] : [`${path}: expected a number`];
  }
  return [];
}
