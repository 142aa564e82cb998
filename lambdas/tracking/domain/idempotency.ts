import { createHash } from 'node:crypto';
import { ConflictError, InvalidParameterError } from '../../platform/errors';
import type { RequestLog } from '../store/tracking-store';
import { clip } from './validation';

/** The request header a client sets to make a create safe to retry (lower-cased, as headers arrive). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** How long a keyed answer is kept: far beyond any client's retries. */
const TTL_SECONDS = 24 * 60 * 60;

const KEY_RE = /^[\x21-\x7e]{1,255}$/;

/** One create as the idempotency log sees it. */
export interface KeyedCreate {
  /** The endpoint, e.g. `runs/create`. */
  readonly endpoint: string;
  readonly caller: string;
  /** The `Idempotency-Key` header; without one the create simply runs. */
  readonly key: string | undefined;
  /** The validated request, so a key reused for another request is refused. */
  readonly request: unknown;
}

const sha256 = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('base64url');

/**
 * Runs a create once per idempotency key. A request without `Idempotency-Key` always
 * creates, as MLflow does (two identical `runs/create` calls are two runs). With a key, the
 * first request creates and its answer is kept for a day under (endpoint, caller, key); a
 * retry with the same key and body gets that answer, one still in progress waits for it,
 * and the same key with a different body is an INVALID_PARAMETER_VALUE. Our client and
 * CLI send a fresh key per call and keep it across their retries.
 *
 * @example
 * const run = await onceFor(store, { endpoint: 'runs/create', caller, key, request: body }, () =>
 *   runs.create(body, caller),
 * );
 */
export async function onceFor<T>(store: RequestLog, create: KeyedCreate, run: () => Promise<T>): Promise<T> {
  const { key } = create;
  if (key === undefined) return run();
  if (!KEY_RE.test(key)) {
    throw new InvalidParameterError(
      `Invalid Idempotency-Key '${clip(key)}': use 1 to 255 visible ASCII characters, e.g. a UUID.`,
    );
  }
  const fingerprint = sha256([create.endpoint, create.caller, key]);
  const request = sha256(create.request);
  for (let attempt = 0; attempt < 40; attempt++) {
    const claim = await store.claimRequest(fingerprint, TTL_SECONDS);
    if (claim === 'claimed') {
      try {
        const result = await run();
        await store.completeRequest(fingerprint, { request, result }, TTL_SECONDS);
        return result;
      } catch (err) {
        await store.releaseRequest(fingerprint);
        throw err;
      }
    }
    if (claim !== 'busy') {
      const kept = claim.result as { request?: string; result: T };
      if (kept.request !== request) {
        throw new InvalidParameterError(
          `Idempotency-Key '${clip(key)}' was already used for a different ${create.endpoint} request; send a new key for a new request.`,
        );
      }
      return kept.result;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new ConflictError('A request with the same Idempotency-Key is still in progress; retry shortly');
}
