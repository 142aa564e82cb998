import type { ResolvedView } from '../definitions/repo';
import type { SelectedFeature } from '../definitions/selection';

/** Inclusive range of `date=` partitions (`YYYY-MM-DD`); undefined = none. */
export type DateRange = { readonly from: string; readonly to: string } | undefined;

/** The `date=YYYY-MM-DD` partition of an offline file's key or URI; undefined when it has none. */
export function partitionDate(key: string): string | undefined {
  return /\/date=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}

/** The partition dates of event times in [from, to], epoch microseconds (UTC dates). */
export function datesBetween(fromMicros: number, toMicros: number): DateRange {
  return { from: dateOfMs(fromMicros / 1000), to: dateOfMs(toMicros / 1000) };
}

/** The UTC date (`YYYY-MM-DD`) of epoch milliseconds, clamped to the range Date can print. */
function dateOfMs(ms: number): string {
  return new Date(Math.min(Math.max(ms, -8.64e15), 8.64e15)).toISOString().slice(0, 10);
}

/** The range of partition dates among keys (keys without one are left out). */
export function dateRangeOf(keys: readonly string[]): DateRange {
  const dates = keys.flatMap((k) => partitionDate(k) ?? []).sort();
  const from = dates[0];
  const to = dates[dates.length - 1];
  return from && to ? { from, to } : undefined;
}

/**
 * The partition dates a view's point-in-time join can touch, for entity rows with event
 * times in [min, max] (epoch ms): none after the latest event's date, and none before the
 * earliest event minus the view's reach (its TTL, or the widest window of its selected
 * aggregations), since such rows could only give values the TTL or window drops. Views with
 * a latest-value feature and no TTL keep every date up to the latest event. Cut to `committed`.
 */
export function viewDateRange(
  view: ResolvedView,
  features: readonly SelectedFeature[],
  committed: DateRange,
  entityTimes: { min: number; max: number },
): DateRange {
  if (!committed) return undefined;
  const mine = features.filter((f) => f.kind !== 'onDemand' && f.view === view);
  // Latest-value features without a TTL may match a row of any age.
  let reach = 0;
  for (const f of mine) {
    if (f.kind === 'feature') reach = view.ttlSeconds > 0 ? Math.max(reach, view.ttlSeconds) : Infinity;
    else if (f.kind === 'aggregation') reach = Math.max(reach, f.agg.windowSeconds);
  }
  const from =
    reach === Infinity ? committed.from : maxDate(committed.from, dateOfMs(entityTimes.min - reach * 1000));
  const to = minDate(committed.to, dateOfMs(entityTimes.max));
  return from <= to ? { from, to } : undefined;
}

/** The later of two `YYYY-MM-DD` dates (they compare as strings). */
function maxDate(a: string, b: string): string {
  return a > b ? a : b;
}

/** The earlier of two `YYYY-MM-DD` dates. */
function minDate(a: string, b: string): string {
  return a > b ? b : a;
}
