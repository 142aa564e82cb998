import { InvalidParameterError } from '../../platform/errors';
import type { ResolvedView } from '../definitions/repo';

/**
 * The online store's item layout, one item per feature view and entity key:
 * - `pk` = `<view>#<entity key>`, `sk` = `v` (the platform's tables have both keys);
 * - `ets` / `cts`: event and created time of the latest row, epoch microseconds (`cts` is
 *   `NO_CREATED` when the view has none), so "newer" is a numeric comparison;
 * - `asof`: for views with window aggregations, the time up to which the event lists are
 *   complete (materialization end, or the newest pushed row);
 * - `f_<feature>`: one attribute per latest-value feature, so a read projects only what is asked;
 * - `w_ts`, `w_cts`, `w_<column>`: the events of the widest aggregation window, aligned lists;
 * - `rev`: a fresh id per write, for read-merge-write pushes;
 * - `expires_at`: epoch seconds after which DynamoDB may delete the item (views with a TTL).
 */
export interface OnlineItem {
  readonly pk: string;
  readonly ets: number;
  readonly cts: number;
  readonly asof: number;
  /** Feature and window attributes (`f_...`, `w_...`). */
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly expiresAt?: number;
}

/** The comparable version of an item: (event time, created time, as-of time). */
export interface ItemVersion {
  readonly ets: number;
  readonly cts: number;
  readonly asof: number;
}

/** Created time of a row without one: below every real timestamp. */
export const NO_CREATED = Number.MIN_SAFE_INTEGER;

/** True when version a is strictly newer than b; equal versions are not (reruns are no-ops). */
export function isNewer(a: ItemVersion, b: ItemVersion | undefined): boolean {
  if (!b) return true;
  if (a.ets !== b.ets) return a.ets > b.ets;
  if (a.cts !== b.cts) return a.cts > b.cts;
  return a.asof > b.asof;
}

/** The attribute holding a latest-value feature. */
export function featureAttr(name: string): string {
  return `f_${name}`;
}

/** The attribute holding a window column's event values (`ts` and `cts` are reserved). */
export function windowAttr(column: string): string {
  return `w_${column}`;
}
export const WINDOW_TS = 'w__ts';
export const WINDOW_CTS = 'w__cts';

/** The partition key of a view's item for one entity key. */
export function itemKey(view: string, key: string): string {
  return `${view}#${key}`;
}

/**
 * Serializes an entity key in the view's join-key order: int64 as its decimal digits, strings
 * JSON-quoted, joined by commas (`42`, `"abc"`, `7,"x"`). Offline values (bigint) and request
 * values (number) give the same text.
 */
export function serializeKey(view: ResolvedView, values: readonly unknown[]): string {
  return view.joinKeys
    .map((k, i) => {
      const v = values[i];
      if (k.type === 'int64') return typeof v === 'bigint' ? v.toString() : String(Math.trunc(Number(v)));
      return JSON.stringify(String(v));
    })
    .join(',');
}

/** Checks one request value against a join key's type; a wrong type names the key and row. */
export function checkKeyValue(
  key: { name: string; type: 'string' | 'int64' },
  v: unknown,
  row: number,
): void {
  const ok =
    key.type === 'int64'
      ? typeof v === 'number' && Number.isSafeInteger(v)
      : typeof v === 'string' && v.length > 0;
  if (!ok) {
    throw new InvalidParameterError(
      `entities.${key.name}[${row}] is ${JSON.stringify(v)}; join key '${key.name}' has type ${key.type}: pass ${key.type === 'int64' ? 'an integer (JSON number)' : 'a non-empty string'}`,
    );
  }
}

/** The widest aggregation window of a view, in seconds (0 without aggregations). */
export function widestWindow(view: ResolvedView): number {
  return Math.max(0, ...view.aggregations.map((a) => a.windowSeconds));
}

/** Source columns whose event values a view's aggregations need. */
export function windowColumns(view: ResolvedView): string[] {
  return [...new Set(view.aggregations.flatMap((a) => (a.column ? [a.column] : [])))];
}

/** When DynamoDB may delete an item: after both its TTL and its widest window have passed, plus a day. */
export function expiryOf(view: ResolvedView, version: ItemVersion): number | undefined {
  if (view.ttlSeconds <= 0) return undefined;
  const from = Math.max(version.ets, version.asof) / 1e6;
  return Math.ceil(from + Math.max(view.ttlSeconds, widestWindow(view)) + 86_400);
}
