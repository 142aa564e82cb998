import { createHash } from 'node:crypto';
import { ConflictError } from '../../platform/errors';
import type { TrackingStore } from '../store/tracking-store';

const TTL_SECONDS = 120;

/**
 * Runs a create once per identical request within two minutes: a client that retries
 * after a lost response (MLflow's client retries 5xx and 429 five times) gets the first
 * answer back instead of a second run or model version.
 *
 * @example
 * const run = await onceFor(store, ['runs/create', caller, body], () => runs.create(body, caller));
 */
export async function onceFor<T>(
  store: TrackingStore,
  request: unknown,
  create: () => Promise<T>,
): Promise<T> {
  const fingerprint = createHash('sha256').update(JSON.stringify(request)).digest('base64url');
  for (let attempt = 0; attempt < 40; attempt++) {
    const claim = await store.claimRequest(fingerprint, TTL_SECONDS);
    if (claim === 'claimed') {
      try {
        const result = await create();
        await store.completeRequest(fingerprint, result, TTL_SECONDS);
        return result;
      } catch (err) {
        await store.releaseRequest(fingerprint);
        throw err;
      }
    }
    if (claim !== 'busy') return claim.result as T;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new ConflictError('An identical request is still in progress; retry shortly');
}
