import { InvalidParameterError } from '../../platform/errors';
import type { KeyValue, MetricPoint } from './types';

/** MLflow's per-request limits of `runs/log-batch` (validation.py). */
export const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;

/** What one `runs/log-batch` request carries. */
export interface Batch {
  metrics: MetricPoint[];
  params: KeyValue[];
  tags: KeyValue[];
}

/**
 * Splits a batch of any size into requests within MLflow's limits (≤1000 metrics, ≤100
 * params, ≤100 tags, ≤1000 in all), keeping the given order within each kind. Params
 * go first so a run's configuration is recorded before its results, as MLflow does.
 * Two values for one param key are refused here, before any chunk is sent: the server
 * would accept the first chunk and then reject the second, leaving half a batch.
 *
 * @example
 * for (const chunk of chunkBatch({ metrics, params, tags })) await send(chunk);
 */
export function chunkBatch(batch: Partial<Batch>, limits = BATCH_LIMITS): Batch[] {
  const metrics = batch.metrics ?? [];
  const tags = batch.tags ?? [];
  const seen = new Map<string, string>();
  for (const p of batch.params ?? []) {
    const prev = seen.get(p.key);
    if (prev !== undefined && prev !== p.value)
      throw new InvalidParameterError(
        `param '${p.key}' is given twice with different values ('${prev}' and '${p.value}'): params are immutable, log one value`,
      );
    seen.set(p.key, p.value);
  }
  // A repeated identical param is sent once: the server refuses duplicate keys in one request.
  const params = [...seen].map(([key, value]) => ({ key, value }));
  const chunks: Batch[] = [];
  let m = 0;
  let p = 0;
  let t = 0;
  while (m < metrics.length || p < params.length || t < tags.length) {
    const np = Math.min(limits.params, params.length - p);
    const nt = Math.min(limits.tags, tags.length - t, limits.total - np);
    const nm = Math.min(limits.metrics, metrics.length - m, limits.total - np - nt);
    chunks.push({
      params: params.slice(p, p + np),
      tags: tags.slice(t, t + nt),
      metrics: metrics.slice(m, m + nm),
    });
    p += np;
    t += nt;
    m += nm;
  }
  return chunks;
}
