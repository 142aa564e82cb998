import type { ObjectStore } from '../../platform/object-store';
import { dateOfKey, pairsKey, pairsPrefix } from './layout';
import type { ShadowPair, ShadowPairsFile, ShadowTask } from './pairs';

/**
 * Writes one delivered batch's pairs, one file per day of their timestamps, named by the
 * batch: a redelivery overwrites the same files (idempotent).
 */
export async function writePairs(
  store: ObjectStore,
  bucket: string,
  head: { model: string; shadowVersion: string; task: ShadowTask; batchId: string },
  pairs: readonly ShadowPair[],
): Promise<string[]> {
  const byDate = new Map<string, ShadowPair[]>();
  for (const p of pairs) {
    const date = p.timestamp.slice(0, 10);
    const list = byDate.get(date) ?? [];
    list.push(p);
    byDate.set(date, list);
  }
  const keys: string[] = [];
  for (const [date, list] of byDate) {
    const key = pairsKey(head.model, head.shadowVersion, date, head.batchId);
    const file: ShadowPairsFile = {
      model: head.model,
      shadow_version: head.shadowVersion,
      task: head.task,
      pairs: list,
    };
    await store.put(bucket, key, JSON.stringify(file), { contentType: 'application/json' });
    keys.push(key);
  }
  return keys;
}

/** Every pairs file of a shadow version from a day on (`since`: yyyy-mm-dd, inclusive). */
export async function readPairs(
  store: ObjectStore,
  bucket: string,
  model: string,
  shadowVersion: string,
  since?: string,
): Promise<ShadowPairsFile[]> {
  const objects = await store.list(bucket, pairsPrefix(model, shadowVersion));
  const out: ShadowPairsFile[] = [];
  for (const o of objects) {
    const date = dateOfKey(o.key);
    if (!date || (since && date < since)) continue;
    const bytes = await store.get(bucket, o.key);
    if (bytes) out.push(JSON.parse(Buffer.from(bytes).toString('utf8')) as ShadowPairsFile);
  }
  return out;
}
