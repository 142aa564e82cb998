/**
 * Where shadow mode keeps its data in the monitoring bucket:
 *
 * - `shadow/config/<model>.json`: the model's shadow configuration;
 * - `shadow/pairs/model=<model>/shadow_version=<v>/date=<yyyy-mm-dd>/<batch-id>.json`: the
 *   pairs scored from one delivered log batch (named by its first log event's id, so a
 *   redelivered batch overwrites its file instead of adding one).
 *
 * Model names are URI-encoded in keys.
 */
export const SHADOW_PREFIX = 'shadow';

/** The prefix of a shadow version's pairs (all days). */
export function pairsPrefix(model: string, shadowVersion: string): string {
  return `${SHADOW_PREFIX}/pairs/model=${encodeURIComponent(model)}/shadow_version=${shadowVersion}/`;
}

/** The key of one batch's pairs for a day. */
export function pairsKey(model: string, shadowVersion: string, date: string, batchId: string): string {
  if (!/^[\w.-]{1,200}$/.test(batchId)) throw new Error(`batch id '${batchId}' is not a safe key segment`);
  return `${pairsPrefix(model, shadowVersion)}date=${date}/${batchId}.json`;
}

/** The `date=` of a pairs key, or undefined. */
export function dateOfKey(key: string): string | undefined {
  return /\/date=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}
