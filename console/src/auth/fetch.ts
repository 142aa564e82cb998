import type { ConsoleConfig } from './config';
import { isAuthFailure, signInHash } from './session';
import { type SigningCredentials, signApiCall } from './sign';

/** Thrown (after moving to the sign-in page) when a call needs credentials the tab lacks. */
export class SignInRequired extends Error {
  constructor(reason: string) {
    super(`Sign in to continue: ${reason}`);
    this.name = 'SignInRequired';
  }
}

/** How apiFetch reaches its surroundings; the browser's by default, a test's in tests. */
export interface FetchContext {
  readonly config: () => Promise<ConsoleConfig>;
  /** Current credentials, refreshed when near expiry; undefined when the user must sign in. */
  readonly credentials: () => Promise<SigningCredentials | undefined>;
  readonly forget: () => void;
  readonly fetch: typeof fetch;
  /** Moves to a hash route (the sign-in page). */
  readonly go: (hash: string) => void;
  /** The current hash route, to come back to. */
  readonly here: () => string;
  /** Where relative sends resolve (the console's origin). */
  readonly origin: () => string;
}

function bodyText(body: RequestInit['body']): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  throw new Error('apiFetch signs string bodies only (JSON.stringify the body)');
}

/**
 * A fetch of an API path (`/api/2.0/mlflow/runs/search`), signed as the config says. Missing
 * or expired credentials, or a refusal of the signature, move to `#/sign-in` (remembering
 * this page) and reject with SignInRequired instead of answering a broken page.
 */
export async function signedFetch(
  ctx: FetchContext,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const config = await ctx.config();
  const relative = path.replace(/^\//, '');
  const base = config.apiUrl.replace(/\/?$/, '/');
  const signedUrl = new URL(relative, new URL(base, ctx.origin()));
  const sendBase = config.fetchBase === undefined ? base : config.fetchBase.replace(/\/?$/, '/');
  const sendUrl = new URL(relative, new URL(sendBase, ctx.origin()));
  sendUrl.search = signedUrl.search;
  if (config.auth === 'none') return ctx.fetch(sendUrl, init);

  const toSignIn = (reason: string): never => {
    ctx.forget();
    ctx.go(signInHash(ctx.here()));
    throw new SignInRequired(reason);
  };
  const creds = await ctx.credentials();
  if (!creds) return toSignIn('no credentials (or they expired)');
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => {
    headers[k] = v;
  });
  const body = bodyText(init.body);
  const signed = await signApiCall(
    signedUrl,
    { method: init.method, headers, ...(body !== undefined ? { body } : {}) },
    creds,
    config.region ?? 'us-east-1',
  );
  const res = await ctx.fetch(sendUrl, { ...init, headers: { ...headers, ...signed } });
  if (res.status === 401 || res.status === 403) {
    const answer = (await res
      .clone()
      .json()
      .catch(() => undefined)) as { error_code?: string; message?: string } | undefined;
    if (isAuthFailure(res.status, answer))
      return toSignIn(answer?.message ?? `the API answered ${res.status}`);
  }
  return res;
}
