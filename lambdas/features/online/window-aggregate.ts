import type { ResolvedAggregation } from '../definitions/repo';
import { WINDOW_CTS, WINDOW_TS, windowAttr } from './online-item';

/**
 * Computes a window aggregation at request time `t` (epoch micros) from an item's event lists,
 * over events with event time in (t − window, t] — the training set's rule, so a value served
 * at t equals the training value at t. `count` is 0 without events; the others are null.
 *
 * @example
 * aggregateAt(item, { function: 'sum', column: 'amount', windowSeconds: 604800, ... }, nowMicros);
 */
export function aggregateAt(
  item: Readonly<Record<string, unknown>> | undefined,
  agg: ResolvedAggregation,
  t: number,
): unknown {
  const ts = (item?.[WINDOW_TS] as number[] | undefined) ?? [];
  const cts = (item?.[WINDOW_CTS] as number[] | undefined) ?? [];
  const values = agg.column ? ((item?.[windowAttr(agg.column)] as unknown[] | undefined) ?? []) : undefined;
  const from = t - agg.windowSeconds * 1e6;
  let count = 0;
  let sum = 0;
  let best: unknown = null;
  let lastKey: [number, number] | undefined;
  for (let i = 0; i < ts.length; i++) {
    const e = Number(ts[i]);
    if (!(e > from && e <= t)) continue;
    const v = values ? (values[i] ?? null) : 1;
    if (v === null) continue;
    count++;
    switch (agg.function) {
      case 'sum':
      case 'mean':
        sum += Number(v);
        break;
      case 'min':
        if (best === null || (v as number | string) < (best as number | string)) best = v;
        break;
      case 'max':
        if (best === null || (v as number | string) > (best as number | string)) best = v;
        break;
      case 'last': {
        const key: [number, number] = [e, Number(cts[i])];
        if (!lastKey || key[0] > lastKey[0] || (key[0] === lastKey[0] && key[1] >= lastKey[1])) {
          lastKey = key;
          best = v;
        }
        break;
      }
      case 'count':
        break;
    }
  }
  switch (agg.function) {
    case 'count':
      return count;
    case 'sum':
      return count === 0 ? null : sum;
    case 'mean':
      return count === 0 ? null : sum / count;
    default:
      return best;
  }
}

/**
 * Merges pushed window events into a stored item's lists: the union, without an event already
 * stored (same time, created time and values), dropping events older than the widest window
 * before the new as-of time. Lists stay sorted by (event time, created time).
 */
export function mergeWindowEvents(
  stored: Readonly<Record<string, unknown>> | undefined,
  incoming: Readonly<Record<string, unknown>>,
  columns: readonly string[],
  asof: number,
  widestSeconds: number,
): Record<string, unknown> {
  const rows = (src: Readonly<Record<string, unknown>> | undefined) => {
    const ts = (src?.[WINDOW_TS] as number[] | undefined) ?? [];
    return ts.map((t, i) => ({
      ts: Number(t),
      cts: Number((src?.[WINDOW_CTS] as number[] | undefined)?.[i]),
      values: columns.map((c) => (src?.[windowAttr(c)] as unknown[] | undefined)?.[i] ?? null),
    }));
  };
  const seen = new Set<string>();
  const all = [...rows(stored), ...rows(incoming)].filter((r) => {
    const id = JSON.stringify([r.ts, r.cts, r.values]);
    if (seen.has(id)) return false;
    seen.add(id);
    return r.ts > asof - widestSeconds * 1e6;
  });
  all.sort((a, b) => a.ts - b.ts || a.cts - b.cts);
  const out: Record<string, unknown> = {
    [WINDOW_TS]: all.map((r) => r.ts),
    [WINDOW_CTS]: all.map((r) => r.cts),
  };
  columns.forEach((c, j) => {
    out[windowAttr(c)] = all.map((r) => r.values[j]);
  });
  return out;
}
