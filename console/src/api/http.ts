import { apiFetch } from '../auth/index';

/** An API answer other than 2xx: the platform's `{error_code, message}` when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** GET or POST JSON through the signed fetch; throws ApiError with the platform's message. */
export async function api<T>(
  path: string,
  options: { method?: string; query?: Record<string, string | string[] | undefined>; body?: unknown } = {},
): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) qs.append(k, one);
  }
  const url = qs.size ? `${path}?${qs}` : path;
  const init: RequestInit = { method: options.method ?? (options.body === undefined ? 'GET' : 'POST') };
  if (options.body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(options.body);
  }
  const res = await apiFetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(
      res.status,
      'BAD_RESPONSE',
      `${path} answered ${res.status} with a body that is not JSON`,
    );
  }
  if (!res.ok) {
    const e = json as { error_code?: string; message?: string };
    throw new ApiError(
      res.status,
      e.error_code ?? `HTTP_${res.status}`,
      e.message ?? `${path}: ${res.status}`,
    );
  }
  return json as T;
}

/** A route's path with its `{parameters}` URL-encoded. */
export const seg = (s: string) => encodeURIComponent(s);
