import type { ResolvedView } from '../definitions/repo';
import type { DuckDbEngine } from '../offline/duckdb-engine';
import { q } from '../offline/render-sql';
import {
  expiryOf,
  featureAttr,
  itemKey,
  NO_CREATED,
  type OnlineItem,
  serializeKey,
  WINDOW_CTS,
  WINDOW_TS,
  widestWindow,
  windowAttr,
  windowColumns,
} from './online-item';

/** Which rows of a relation a snapshot covers. */
export interface SnapshotWindow {
  /** Entity keys with a row whose event time is in [start, end] (epoch micros) are written. */
  readonly start: number;
  readonly end: number;
  /** Only keys with hash(key) % count = index (a materialization chunk). */
  readonly chunk?: { readonly index: number; readonly count: number };
}

/**
 * Computes the online items of a view from a relation of its rows (the offline store, or a
 * pushed batch): for each entity key with a row in the window, the latest row at or before the
 * window's end (ties: latest created time, nulls last — the training set's rule), and, for views
 * with window aggregations, every event in (end − widest window, end], as aligned lists.
 *
 * @example
 * const items = await snapshotItems(engine, view, 'fv_purchases', { start, end });
 */
export async function snapshotItems(
  engine: DuckDbEngine,
  view: ResolvedView,
  relation: string,
  window: SnapshotWindow,
): Promise<OnlineItem[]> {
  const sql = snapshotSql(view, relation, window);
  const rows = await engine.query(sql);
  const keys = view.joinKeys.map((k) => k.name);
  const hasWindow = view.aggregations.length > 0;
  const wcols = windowColumns(view);
  return rows.map((r) => {
    const version = {
      ets: Number(r['__ets']),
      cts: Number(r['__cts']),
      asof: hasWindow ? window.end : 0,
    };
    const attrs: Record<string, unknown> = {};
    for (const f of view.def.features) attrs[featureAttr(f.name)] = plain(r[f.name]);
    if (hasWindow) {
      attrs[WINDOW_TS] = numbers(r['__w_ts']);
      attrs[WINDOW_CTS] = numbers(r['__w_cts']);
      for (const c of wcols) attrs[windowAttr(c)] = ((r[`__w_${c}`] as unknown[] | null) ?? []).map(plain);
    }
    const expiresAt = expiryOf(view, version);
    return {
      pk: itemKey(
        view.def.name,
        serializeKey(
          view,
          keys.map((k) => r[k]),
        ),
      ),
      ...version,
      attrs,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    };
  });
}

/**
 * The number of entity keys with a row in [start, end], to size chunks, and the greatest event
 * time among those rows (undefined without rows): the latest event time the window can write.
 */
export async function windowStats(
  engine: DuckDbEngine,
  view: ResolvedView,
  relation: string,
  window: SnapshotWindow,
): Promise<{ keys: number; maxEts: number | undefined }> {
  const keys = view.joinKeys.map((k) => q(k.name)).join(', ');
  const ts = `epoch_us(${q(view.def.timestampField)})`;
  const rows = await engine.query(
    `SELECT count(*) AS n, max("__m") AS m FROM (SELECT ${keys}, max(${ts}) AS "__m" FROM ${q(relation)} WHERE ${inWindow(view, window)} GROUP BY ${keys})`,
  );
  const m = rows[0]?.['m'];
  return { keys: Number(rows[0]?.['n'] ?? 0), maxEts: m === null || m === undefined ? undefined : Number(m) };
}

function inWindow(view: ResolvedView, w: SnapshotWindow): string {
  const ts = `epoch_us(${q(view.def.timestampField)})`;
  const keys = view.joinKeys.map((k) => q(k.name)).join(', ');
  const chunk =
    w.chunk && w.chunk.count > 1 ? ` AND hash(${keys}) % ${w.chunk.count} = ${w.chunk.index}` : '';
  return `${ts} >= ${Math.trunc(w.start)} AND ${ts} <= ${Math.trunc(w.end)}${chunk}`;
}

/** The snapshot query (exported for the docs and tests). */
export function snapshotSql(view: ResolvedView, relation: string, w: SnapshotWindow): string {
  const keys = view.joinKeys.map((k) => q(k.name));
  const rKeys = keys.map((k) => `r.${k}`).join(', ');
  const using = `USING (${keys.join(', ')})`;
  const ts = `r.${q(view.def.timestampField)}`;
  const created = view.def.createdTimestampField ? `r.${q(view.def.createdTimestampField)}` : undefined;
  const cts = created ? `coalesce(epoch_us(${created}), ${NO_CREATED})` : String(NO_CREATED);
  const end = Math.trunc(w.end);
  const feats = view.def.features.map((f) => `, r.${q(f.name)}`).join('');
  const latestOrder = `${ts} DESC${created ? `, ${created} DESC NULLS LAST` : ''}`;
  const ctes = [
    `"__k" AS (SELECT DISTINCT ${keys.join(', ')} FROM ${q(relation)} WHERE ${inWindow(view, w)})`,
    `"__l" AS (SELECT ${rKeys}, epoch_us(${ts}) AS "__ets", ${cts} AS "__cts"${feats} ` +
      `FROM ${q(relation)} r JOIN "__k" ${using} WHERE epoch_us(${ts}) <= ${end} ` +
      `QUALIFY row_number() OVER (PARTITION BY ${rKeys} ORDER BY ${latestOrder}) = 1)`,
  ];
  let select = 'SELECT * FROM "__l"';
  if (view.aggregations.length > 0) {
    const widest = widestWindow(view) * 1_000_000;
    const ord = `ORDER BY ${ts}${created ? `, ${created} NULLS FIRST` : ''}`;
    const lists = [
      `list(epoch_us(${ts}) ${ord}) AS "__w_ts"`,
      `list(${cts} ${ord}) AS "__w_cts"`,
      ...windowColumns(view).map((c) => `list(r.${q(c)} ${ord}) AS ${q(`__w_${c}`)}`),
    ];
    ctes.push(
      `"__w" AS (SELECT ${rKeys}, ${lists.join(', ')} FROM ${q(relation)} r JOIN "__k" ${using} ` +
        `WHERE epoch_us(${ts}) <= ${end} AND epoch_us(${ts}) > ${end - widest} GROUP BY ${rKeys})`,
    );
    select = `SELECT l.*, w.* EXCLUDE (${keys.join(', ')}) FROM "__l" l LEFT JOIN "__w" w ${using}`;
  }
  return `WITH ${ctes.join(',\n')}\n${select}`;
}

/** A DuckDB value as the online store keeps it: numbers, strings, booleans, ISO timestamps, null. */
export function plain(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  return v;
}

function numbers(v: unknown): number[] {
  return ((v as unknown[] | null) ?? []).map(Number);
}
