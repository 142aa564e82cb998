import { randomUUID } from 'node:crypto';
import { MlopsError } from '../../platform/errors';

/** Sends one MLflow REST request; returns the parsed JSON or throws the API's error. */
export type MlflowCall = (
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  body?: Record<string, unknown> | Uint8Array,
  // biome-ignore lint/suspicious/noExplicitAny: JSON of any endpoint; typed by the clients over it
) => Promise<any>;

/** An MLflow REST error with its wire code (`RESOURCE_DOES_NOT_EXIST`, ...). */
export class MlflowApiError extends MlopsError {
  constructor(
    readonly wireCode: string,
    readonly httpStatus: number,
    message: string,
  ) {
    super(
      httpStatus === 404
        ? 'RESOURCE_DOES_NOT_EXIST'
        : httpStatus >= 500
          ? 'INTERNAL_ERROR'
          : 'INVALID_PARAMETER_VALUE',
      `${wireCode}: ${message}`,
    );
  }
}

/**
 * A fetch-based MLflow REST caller for a base URL (`http://127.0.0.1:4566`, or the API's
 * URL on AWS, where `sign` adds SigV4 headers). GET fields go in the query string.
 *
 * @example
 * const call = mlflowCaller('http://127.0.0.1:4566');
 * await call('GET', 'experiments/get-by-name', { experiment_name: 'x' });
 */
export function mlflowCaller(
  baseUrl: string,
  sign?: (req: {
    method: string;
    url: URL;
    headers: Record<string, string>;
    body?: Uint8Array | string;
  }) => Promise<Record<string, string>>,
): MlflowCall {
  const base = baseUrl.replace(/\/+$/, '');
  return async (method, path, body) => {
    const url = new URL(path.startsWith('/') ? `${base}${path}` : `${base}/api/2.0/mlflow/${path}`);
    let payload: Uint8Array | string | undefined;
    const headers: Record<string, string> = {};
    if (body instanceof Uint8Array) {
      payload = body;
      headers['content-type'] = 'application/octet-stream';
    } else if (method === 'GET' && body) {
      for (const [k, v] of Object.entries(body)) {
        for (const item of Array.isArray(v) ? v : [v])
          if (item !== undefined) url.searchParams.append(k, String(item));
      }
    } else if (body) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
      // One key per call, kept across the retries below: the server then answers a retried
      // create (runs/create, model-versions/create) with the first result, not a duplicate.
      headers['idempotency-key'] = randomUUID();
    }
    const signed = sign ? await sign({ method, url, headers, body: payload }) : headers;
    let res: Response | undefined;
    for (let attempt = 0; ; attempt++) {
      res = await fetch(url, { method, headers: signed, body: payload as string | undefined });
      // Retry what MLflow's own client retries; writes are idempotent (creates by the key above).
      if (![429, 502, 503, 504].includes(res.status) || attempt >= 4) break;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
    const type = res.headers.get('content-type') ?? '';
    if (!res.ok) {
      const text = await res.text();
      let parsed: { error_code?: string; message?: string } = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      throw new MlflowApiError(
        parsed.error_code ?? `HTTP_${res.status}`,
        res.status,
        parsed.message ?? text.slice(0, 500),
      );
    }
    if (type.includes('application/json')) return res.json();
    return new Uint8Array(await res.arrayBuffer());
  };
}
