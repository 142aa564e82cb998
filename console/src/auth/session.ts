import type { SigningCredentials } from './sign';

/** Where the signed-in credentials live: this tab only, gone when it closes. */
const KEY = 'mlops-console-credentials';
/** Refresh temporary credentials this long before they expire. */
/** The part of the browser's Storage used here (named locally: node-side tests type-check this file too). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const REFRESH_MARGIN_MS = 5 * 60_000;

export function readCredentials(storage: Pick<KeyValueStorage, 'getItem'>): SigningCredentials | undefined {
  const raw = storage.getItem(KEY);
  if (!raw) return undefined;
  try {
    const c = JSON.parse(raw) as Partial<SigningCredentials>;
    if (typeof c.accessKeyId !== 'string' || !c.accessKeyId) return undefined;
    if (typeof c.secretAccessKey !== 'string' || !c.secretAccessKey) return undefined;
    return c as SigningCredentials;
  } catch {
    return undefined;
  }
}

export function writeCredentials(storage: Pick<KeyValueStorage, 'setItem'>, c: SigningCredentials): void {
  storage.setItem(KEY, JSON.stringify(c));
}

export function clearCredentials(storage: Pick<KeyValueStorage, 'removeItem'>): void {
  storage.removeItem(KEY);
}

/** Whether credentials can sign now, must be refreshed first, or are missing. */
export function credentialState(
  c: SigningCredentials | undefined,
  now: number,
): 'missing' | 'fresh' | 'refresh' {
  if (!c) return 'missing';
  if (c.expiration !== undefined && c.expiration - REFRESH_MARGIN_MS <= now) return 'refresh';
  return 'fresh';
}

/**
 * Whether an API answer means "sign in again": API Gateway's (and the local gateway's)
 * refusals of a missing, invalid or expired signature. A 403 for a route the role may not
 * call (PERMISSION_DENIED) is not one: signing in again would not change it.
 */
export function isAuthFailure(
  status: number,
  body: { error_code?: string; message?: string } | undefined,
): boolean {
  if (status === 401) return true;
  if (status !== 403) return false;
  if (body?.error_code === 'UNAUTHENTICATED') return true;
  const m = (body?.message ?? '').toLowerCase();
  return /missing authentication|expired|security token|signature/.test(m);
}

/** The sign-in route, remembering the page to return to. */
export function signInHash(returnTo: string): string {
  const back = returnTo.replace(/^#/, '');
  return back && !back.startsWith('/sign-in') ? `#/sign-in?return=${encodeURIComponent(back)}` : '#/sign-in';
}

/** Where to go after signing in: the remembered page, or the start page. */
export function returnHash(query: URLSearchParams): string {
  const back = query.get('return');
  return back?.startsWith('/') && !back.startsWith('/sign-in') ? `#${back}` : '#/experiments';
}
