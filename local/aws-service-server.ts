import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An error of an AWS API as a local stand-in answers it: the HTTP status and the error type
 * the SDK turns into its exception (each service writes it where its SDK reads it).
 */
export class AwsServiceError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    /** More fields of the error body (SageMaker's `OriginalStatusCode`, ...). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }
}

/** A local AWS API on 127.0.0.1: what an `AWS_ENDPOINT_URL_<SERVICE>` is set to. */
export interface RunningAwsService {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** The whole request body. */
export async function readRequestBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A JSON request body (`{}` when empty); a malformed one is AWS's own SerializationException. */
// biome-ignore lint/suspicious/noExplicitAny: request bodies are JSON, checked field by field by each service
export function parseJsonBody(body: Uint8Array): Record<string, any> {
  try {
    return body.length ? JSON.parse(Buffer.from(body).toString('utf8')) : {};
  } catch {
    throw new AwsServiceError(400, 'SerializationException', 'Could not parse request body into json');
  }
}

/**
 * Writes an answer with the request id every AWS answer carries. `body` is sent as it is
 * when bytes or text, else as JSON (nothing for `undefined`).
 */
export function sendAnswer(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload =
    body instanceof Uint8Array || typeof body === 'string'
      ? body
      : body === undefined
        ? ''
        : JSON.stringify(body);
  res.writeHead(status, {
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(payload);
}

/**
 * Serves `route` on 127.0.0.1 (`port` 0: any free port). A thrown AwsServiceError is answered
 * by `answerError` in the service's own error format; anything else as a 500 of `fault` type.
 */
export async function serveAwsApi(
  route: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  answerError: (res: ServerResponse, e: AwsServiceError) => void,
  options: {
    readonly port?: number;
    readonly fault: string;
    readonly classify?: (err: unknown) => AwsServiceError | undefined;
  },
): Promise<RunningAwsService> {
  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      const e =
        err instanceof AwsServiceError
          ? err
          : (options.classify?.(err) ??
            new AwsServiceError(500, options.fault, String((err as Error)?.message ?? err)));
      answerError(res, e);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
