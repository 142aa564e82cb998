import type { PitPlan, ViewJoin } from './pit-plan';

/** The SQL dialects a plan renders to. */
export type Dialect = 'duckdb' | 'athena';

/** Quotes an identifier for both DuckDB and Trino. */
export function q(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A SQL string literal, for both DuckDB and Trino. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A `timestamp - n seconds` expression both dialects accept. */
function minus(ts: string, seconds: number): string {
  return `${ts} - INTERVAL '${seconds}' SECOND`;
}

// Offsets keep microsecond epochs positive so two fit one HUGEINT in order (years 1685-2255).
const OFFSET = '9007199254740992';
const SHIFT = '18014398509481984';

/**
 * Renders a plan as one SELECT returning the entity row id, the entity columns and every
 * feature, ordered by row id. Only the latest-value lookup differs by dialect:
 * - `duckdb`: ASOF LEFT JOIN (created timestamp folded into the ASOF key for the tie-break),
 *   with the TTL applied after the match: a match older than the TTL gives null, never an
 *   older-still row.
 * - `athena`: the portable form, ROW_NUMBER over the entity row id ordered by event then
 *   created timestamp, with the TTL in the join condition.
 * Window aggregations use the same portable SQL in both dialects. `relations` are named
 * subqueries rendered first (e.g. a view's committed rows on Athena), which the plan's
 * tables may refer to.
 *
 * @example
 * const sql = renderPitQuery(plan, 'duckdb');
 */
export function renderPitQuery(
  plan: PitPlan,
  dialect: Dialect,
  relations: readonly { readonly name: string; readonly sql: string }[] = [],
): string {
  const e = plan.entity;
  const ctes: string[] = relations.map((r) => `${q(r.name)} AS (${r.sql})`);
  const joins: string[] = [];
  const exprs = new Map<string, string>();
  for (const v of plan.views) {
    if (v.features.length > 0 && dialect === 'duckdb') {
      // Chained ASOF joins keep one row per entity row without joining back on the row id.
      const { cte, join, fresh } = latestDuckdb(plan, v);
      ctes.push(cte);
      joins.push(join);
      for (const f of v.features)
        exprs.set(`${v.alias}.${f.output}`, `CASE WHEN ${fresh} THEN ${q(v.alias)}.${q(f.output)} END`);
    } else if (v.features.length > 0) {
      ctes.push(latestPortable(plan, v));
      joins.push(`LEFT JOIN ${q(v.alias)} ON ${q(v.alias)}.${q(e.rowId)} = e.${q(e.rowId)}`);
    }
    if (v.aggregations.length > 0) {
      ctes.push(windowAggregates(plan, v));
      const a = `${v.alias}_agg`;
      joins.push(`LEFT JOIN ${q(a)} ON ${q(a)}.${q(e.rowId)} = e.${q(e.rowId)}`);
    }
  }
  const cols = [
    `e.${q(e.rowId)}`,
    ...e.columns.map((c) => `e.${q(c)}`),
    ...plan.outputs.map((o) => {
      const x = exprs.get(`${o.alias}.${o.column}`);
      return x ? `${x} AS ${q(o.column)}` : `${q(o.alias)}.${q(o.column)}`;
    }),
  ];
  return [
    ctes.length > 0 ? `WITH\n${ctes.join(',\n')}` : '',
    `SELECT ${cols.join(', ')}`,
    `FROM ${q(e.table)} e`,
    ...joins,
    `ORDER BY e.${q(e.rowId)}`,
  ]
    .filter(Boolean)
    .join('\n');
}

function keyEquals(v: ViewJoin, left: string, right: string): string {
  return v.joinKeys.map((k) => `${left}.${q(k)} = ${right}.${q(k)}`).join(' AND ');
}

function latestDuckdb(plan: PitPlan, v: ViewJoin): { cte: string; join: string; fresh: string } {
  const e = plan.entity;
  const ts = q(v.timestampColumn);
  const a = q(v.alias);
  const src = `${v.alias}_src`;
  const srcCols = [...v.joinKeys.map(q), ts, ...v.features.map((f) => `${q(f.column)} AS ${q(f.output)}`)];
  let probe = `e.${q(e.timestampColumn)} >= ${a}.${ts}`;
  if (v.createdColumn) {
    // ASOF takes one inequality: order by (event ts, created ts) packed into one HUGEINT.
    srcCols.push(
      `(epoch_us(${ts}) + ${OFFSET})::HUGEINT * ${SHIFT}::HUGEINT + (coalesce(epoch_us(${q(v.createdColumn)}), -${OFFSET}) + ${OFFSET}) AS "__k"`,
    );
    probe = `(epoch_us(e.${q(e.timestampColumn)}) + ${OFFSET})::HUGEINT * ${SHIFT}::HUGEINT + (${SHIFT} - 1) >= ${a}."__k"`;
  }
  // The TTL applies after the match: a match older than the TTL gives null, not an older row.
  // Compared in epoch microseconds: integer arithmetic, where TIMESTAMPTZ - INTERVAL goes
  // through the ICU calendar for every row (same instants, so the same result).
  const fresh =
    v.ttlSeconds > 0
      ? `epoch_us(${a}.${ts}) >= epoch_us(e.${q(e.timestampColumn)}) - ${BigInt(v.ttlSeconds) * 1_000_000n}`
      : `${a}.${ts} IS NOT NULL`;
  return {
    cte: `${q(src)} AS (SELECT ${srcCols.join(', ')} FROM ${q(v.table)})`,
    join: `ASOF LEFT JOIN ${q(src)} ${a} ON ${keyEquals(v, 'e', a)} AND ${probe}`,
    fresh,
  };
}

function latestPortable(plan: PitPlan, v: ViewJoin): string {
  const e = plan.entity;
  const ts = q(v.timestampColumn);
  const ets = `e.${q(e.timestampColumn)}`;
  const conds = [keyEquals(v, 'e', 's'), `s.${ts} <= ${ets}`];
  if (v.ttlSeconds > 0) conds.push(`s.${ts} >= ${minus(ets, v.ttlSeconds)}`);
  const order = [`s.${ts} DESC`];
  if (v.createdColumn) order.push(`s.${q(v.createdColumn)} DESC NULLS LAST`);
  const feats = v.features.map((f) => `s.${q(f.column)} AS ${q(f.output)}`);
  return (
    `${q(v.alias)} AS (SELECT ${q(e.rowId)}, ${v.features.map((f) => q(f.output)).join(', ')} FROM (` +
    `SELECT e.${q(e.rowId)}, ${feats.join(', ')}, ROW_NUMBER() OVER (PARTITION BY e.${q(e.rowId)} ORDER BY ${order.join(', ')}) AS "__rn" ` +
    `FROM ${q(e.table)} e JOIN ${q(v.table)} s ON ${conds.join(' AND ')}) t WHERE "__rn" = 1)`
  );
}

/** Aggregates over source rows with ts in (t - window, t] for each entity row: never later rows. */
function windowAggregates(plan: PitPlan, v: ViewJoin): string {
  const e = plan.entity;
  const ts = `s.${q(v.timestampColumn)}`;
  const ets = `e.${q(e.timestampColumn)}`;
  const widest = Math.max(...v.aggregations.map((a) => a.windowSeconds));
  const aggs = v.aggregations.map((a) => {
    const inWindow = `${ts} > ${minus(ets, a.windowSeconds)}`;
    const col = a.column ? `s.${q(a.column)}` : '1';
    const val = `CASE WHEN ${inWindow} THEN ${col} END`;
    switch (a.fn) {
      case 'count':
        return `count(${val}) AS ${q(a.output)}`;
      case 'sum':
        return `CAST(sum(${val}) AS ${a.sumType ?? 'DOUBLE'}) AS ${q(a.output)}`;
      case 'mean':
        return `avg(CAST(${val} AS DOUBLE)) AS ${q(a.output)}`;
      case 'min':
        return `min(${val}) AS ${q(a.output)}`;
      case 'max':
        return `max(${val}) AS ${q(a.output)}`;
      case 'last': {
        const created = v.createdColumn ? `, s.${q(v.createdColumn)}` : '';
        // Rows outside the window have a null ordering key; max_by skips them.
        return `max_by(${col}, CASE WHEN ${inWindow} AND ${col} IS NOT NULL THEN ROW(${ts}${created}) END) AS ${q(a.output)}`;
      }
    }
    const unknown: never = a.fn;
    throw new Error(`unknown aggregation function ${String(unknown)}`);
  });
  return (
    `${q(`${v.alias}_agg`)} AS (SELECT e.${q(e.rowId)}, ${aggs.join(', ')} FROM ${q(e.table)} e ` +
    `LEFT JOIN ${q(v.table)} s ON ${keyEquals(v, 'e', 's')} AND ${ts} <= ${ets} AND ${ts} > ${minus(ets, widest)} ` +
    `GROUP BY e.${q(e.rowId)})`
  );
}
