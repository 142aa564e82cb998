import type { Dialect } from '../../features/offline/render-sql';
import { type NumericGrid, OTHER_CATEGORY } from '../drift/accumulators';
import { datesBetween } from '../log/log-store';

/**
 * One window's aggregation in SQL, planned once and rendered per engine (Athena on the Glue
 * table in the cloud, DuckDB over the same S3 layout locally): per numeric feature and the
 * prediction, counts on the baseline profile's grid edges (per bin: count, count exactly at
 * its left edge, sum), and mean, std, min, max; per categorical feature, counts per category;
 * missing counts; the prediction's count and sum per hour; rows and failures. That is all the
 * grid-sketch statistics read (lambdas/monitoring/drift/compare.ts), so the job compares
 * these aggregates with the profile exactly as it compares its own accumulators.
 */

/** The window and the columns of one model version to aggregate. */
export interface WindowPlan {
  readonly model: string;
  readonly version: string;
  /** [from, to), epoch ms, by the answer's time. */
  readonly from: number;
  readonly to: number;
  /** Numeric features with the baseline's grid (edges ascending and distinct, PSI cut points among them). */
  readonly numeric: readonly { readonly name: string; readonly grid: NumericGrid }[];
  readonly categorical: readonly string[];
  /** The prediction's grid. */
  readonly predictionGrid: NumericGrid;
  /** Categories kept per feature (the most frequent); the rest count as `__other__`. */
  readonly maxCategories: number;
}

/** Where the prediction log is: the Glue table (Athena) or a DuckDB table expression. */
export interface LogSource {
  readonly dialect: Dialect;
  /** `"db"."predictions"` or `read_json(...)`. */
  readonly table: string;
}

/** A column of one rendered query: an id in the result rows, and what it stands for. */
export type PlannedColumn =
  | { readonly id: string; readonly kind: 'numeric'; readonly name: string; readonly grid: NumericGrid }
  | { readonly id: string; readonly kind: 'prediction'; readonly grid: NumericGrid }
  | { readonly id: string; readonly kind: 'categorical'; readonly name: string };

export interface RenderedQuery {
  readonly sql: string;
  readonly columns: readonly PlannedColumn[];
  /** Whether this query also counts rows, failures and the hourly prediction. */
  readonly window: boolean;
}

/** Ids of the rows that are not features in the result. */
export const STATUS_ID = 's';
export const HOUR_ID = 'h';
const HOUR_MS = 3_600_000;

/** Athena refuses query strings over 262,144 bytes; edges are rendered in full, so stay below. */
export const ATHENA_MAX_QUERY_CHARS = 240_000;

const str = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * A double literal both engines read as DOUBLE (a plain `0.1` is DECIMAL in both): the
 * shortest text that round-trips in JavaScript, so the engine's edge is the profile's.
 */
export function doubleLiteral(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`grid edge ${v} is not finite`);
  const s = String(v);
  return /e/i.test(s) ? s : `${s}e0`;
}

function edgeArray(dialect: Dialect, edges: Float64Array): string {
  const items = Array.from(edges, doubleLiteral).join(', ');
  return dialect === 'athena' ? `ARRAY[${items}]` : `[${items}]::DOUBLE[]`;
}

function inputOf(dialect: Dialect, name: string): string {
  return dialect === 'athena' ? `element_at(inputs, ${str(name)})` : `(inputs ->> ${str(name)})`;
}

const finite = (dialect: Dialect, x: string) => (dialect === 'athena' ? `is_finite(${x})` : `isfinite(${x})`);

function numericValue(dialect: Dialect, expr: string): string {
  const x = `TRY_CAST(${expr} AS ${dialect === 'athena' ? 'double' : 'DOUBLE'})`;
  return `CASE WHEN ${finite(dialect, x)} THEN ${x} END`;
}

/** The columns, split so that each query's text stays under `maxChars` (Athena's limit). */
function chunks(plan: WindowPlan, maxChars: number): PlannedColumn[][] {
  const all: PlannedColumn[] = [
    { id: 'p', kind: 'prediction', grid: plan.predictionGrid },
    ...plan.numeric.map((f, i) => ({ id: `n${i}`, kind: 'numeric' as const, name: f.name, grid: f.grid })),
    ...plan.categorical.map((name, i) => ({ id: `c${i}`, kind: 'categorical' as const, name })),
  ];
  const out: PlannedColumn[][] = [[]];
  // A fixed allowance for the query's frame, then each column's own text (edges dominate).
  let used = 4_000;
  for (const c of all) {
    const cost = 400 + ('grid' in c ? c.grid.edges.length * 26 : 0) + ('name' in c ? c.name.length * 4 : 0);
    if (used + cost > maxChars && out[out.length - 1]!.length) {
      out.push([]);
      used = 4_000;
    }
    out[out.length - 1]!.push(c);
    used += cost;
  }
  return out;
}

/**
 * Renders the plan as one query per chunk of columns (one query when the edges fit Athena's
 * limit, which at 20 features of a 1,024-edge sketch they do not quite: then two or three,
 * each scanning the window once). Result rows: `feature` (a column id), `g` (0 for a bin,
 * category or missing count; 3 for the column's totals), `bkt` (bin index = number of edges
 * ≤ x, or the hour, or 1/0 for ok/failed rows), `c` (category), `n` (rows), `nx` (values),
 * `s` (sum), `e` (values equal to the bin's left edge), `mean`, `std`, `mn`, `mx`.
 *
 * @example
 * const queries = renderWindowQueries(plan, { dialect: 'duckdb', table: duckdbPredictionLog(dir) });
 */
export function renderWindowQueries(plan: WindowPlan, source: LogSource): RenderedQuery[] {
  const d = source.dialect;
  const max = d === 'athena' ? ATHENA_MAX_QUERY_CHARS : Number.POSITIVE_INFINITY;
  return chunks(plan, max).map((columns, i) => ({
    sql: renderOne(plan, source, columns, i === 0),
    columns,
    window: i === 0,
  }));
}

function renderOne(plan: WindowPlan, source: LogSource, columns: PlannedColumn[], window: boolean): string {
  const d = source.dialect;
  const dates = datesBetween(plan.from, plan.to).map(str).join(', ');
  const values = columns.map((c) =>
    c.kind === 'prediction'
      ? `CASE WHEN ${finite(d, 'prediction')} THEN prediction END AS ${c.id}`
      : c.kind === 'numeric'
        ? `${numericValue(d, inputOf(d, c.name))} AS ${c.id}`
        : `CAST(${inputOf(d, c.name)} AS ${d === 'athena' ? 'varchar' : 'VARCHAR'}) AS ${c.id}`,
  );
  const where = [
    `model = ${str(plan.model)}`,
    `"date" IN (${dates})`,
    `ts >= ${plan.from}`,
    `ts < ${plan.to}`,
    `version = ${str(plan.version)}`,
  ].join(' AND ');
  const w = `w AS (
  SELECT ts, (status = 200 AND "row" IS NOT NULL) AS ok, prediction AS pr, ${values.join(',\n    ')}
  FROM ${source.table}
  WHERE ${where}
)`;
  const numeric = columns.filter((c) => c.kind !== 'categorical');
  const hourOf = d === 'athena' ? `ts / ${HOUR_MS}` : `ts // ${HOUR_MS}`;
  const bigint = d === 'athena' ? 'bigint' : 'BIGINT';
  const dbl = d === 'athena' ? 'double' : 'DOUBLE';
  const vc = d === 'athena' ? 'varchar' : 'VARCHAR';
  // One entry per row and column (and per row for the window's counts), so the window is scanned once.
  const ids = [...(window ? [STATUS_ID, HOUR_ID] : []), ...columns.map((c) => c.id)];
  const xs = [
    ...(window ? [`CAST(NULL AS ${dbl})`, `CASE WHEN ${finite(d, 'pr')} THEN pr END`] : []),
    ...columns.map((c) => (c.kind === 'categorical' ? `CAST(NULL AS ${dbl})` : c.id)),
  ];
  const cs = [
    ...(window ? [`CAST(NULL AS ${vc})`, `CAST(NULL AS ${vc})`] : []),
    ...columns.map((c) => (c.kind === 'categorical' ? c.id : `CAST(NULL AS ${vc})`)),
  ];
  const windowBuckets = window
    ? [`CAST(CASE WHEN ok THEN 1 ELSE 0 END AS ${bigint})`, `CAST(${hourOf} AS ${bigint})`]
    : [];
  let unpivot: string;
  if (d === 'athena') {
    const edges = `e AS (SELECT ${numeric.map((c) => `${edgeArray(d, c.grid.edges)} AS e_${c.id}`).join(', ')})`;
    const b = `b AS (
  SELECT w.*, ${numeric.map((c) => `width_bucket(${c.id}, e_${c.id}) AS b_${c.id}`).join(', ')}, ${numeric.map((c) => `e_${c.id}`).join(', ')}
  FROM w CROSS JOIN e
)`;
    const bk = [
      ...windowBuckets,
      ...columns.map((c) => (c.kind === 'categorical' ? `CAST(NULL AS ${bigint})` : `b_${c.id}`)),
    ];
    const at = [
      ...(window ? ['false', 'false'] : []),
      ...columns.map((c) =>
        c.kind === 'categorical'
          ? 'false'
          : `coalesce(b_${c.id} > 0 AND element_at(e_${c.id}, CAST(greatest(b_${c.id}, 1) AS integer)) = ${c.id}, false)`,
      ),
    ];
    unpivot = `${edges},
${b},
u AS (
  SELECT t.feature, t.x, t.bkt, t.at_edge, t.c
  FROM b CROSS JOIN UNNEST(
    ARRAY[${ids.map(str).join(', ')}],
    ARRAY[${xs.join(', ')}],
    ARRAY[${bk.join(', ')}],
    ARRAY[${at.join(', ')}],
    ARRAY[${cs.join(', ')}]
  ) AS t(feature, x, bkt, at_edge, c)
  WHERE ok OR t.feature = ${str(STATUS_ID)}
)`;
  } else {
    // DuckDB has no width_bucket over an array: an ASOF join finds each value's largest edge ≤ it.
    const edges = `edges AS (
  SELECT feature, unnest(e) AS edge, unnest(range(1, len(e) + 1)) AS idx
  FROM (VALUES ${numeric.map((c) => `(${str(c.id)}, ${edgeArray(d, c.grid.edges)})`).join(', ')}) AS t(feature, e)
)`;
    const bk = [...windowBuckets, ...columns.map(() => `CAST(NULL AS ${bigint})`)];
    unpivot = `${edges},
l AS (
  SELECT unnest([${ids.map(str).join(', ')}]) AS feature, unnest([${xs.join(', ')}]) AS x,
    unnest([${bk.join(', ')}]) AS b0, unnest([${cs.join(', ')}]) AS c, ok
  FROM w
),
u AS (
  SELECT l.feature, l.x, l.c,
    CASE WHEN l.x IS NOT NULL AND l.feature <> ${str(HOUR_ID)} THEN coalesce(edges.idx, 0) ELSE l.b0 END AS bkt,
    coalesce(l.x = edges.edge, false) AS at_edge
  FROM l ASOF LEFT JOIN edges ON l.feature = edges.feature AND l.x >= edges.edge
  WHERE l.ok OR l.feature = ${str(STATUS_ID)}
)`;
  }
  const countIf = 'count_if(at_edge)';
  return `WITH ${w},
${unpivot},
agg AS (
  SELECT feature, bkt, c, GROUPING(bkt, c) AS g, count(*) AS n, count(x) AS nx, sum(x) AS s, ${countIf} AS e,
    avg(x) AS mean, stddev_pop(x) AS std, min(x) AS mn, max(x) AS mx
  FROM u
  GROUP BY GROUPING SETS ((feature, bkt, c), (feature))
),
ranked AS (
  SELECT agg.*, CASE WHEN c IS NULL OR row_number() OVER (PARTITION BY feature, g, c IS NULL ORDER BY n DESC, c) <= ${plan.maxCategories}
    THEN c ELSE ${str(OTHER_CATEGORY)} END AS cc
  FROM agg
)
SELECT feature, g, bkt, cc AS c, sum(n) AS n, sum(nx) AS nx, sum(s) AS s, sum(e) AS e,
  max(mean) AS mean, max(std) AS std, min(mn) AS mn, max(mx) AS mx
FROM ranked
GROUP BY feature, g, bkt, cc`;
}

/**
 * The window's rows per version (successful and failed), one cheap query the drift job runs
 * first: it says which versions to compare and whether the window is large enough to
 * aggregate in SQL rather than stream through the function.
 *
 * @example
 * const sql = renderWindowCount('churn', from, to, { dialect: 'athena', table: '"monitoring_prod"."predictions"' });
 */
export function renderWindowCount(model: string, from: number, to: number, source: LogSource): string {
  const dates = datesBetween(from, to).map(str).join(', ');
  return `SELECT version, count_if(status = 200 AND "row" IS NOT NULL) AS ok, count(*) AS n
FROM ${source.table}
WHERE model = ${str(model)} AND "date" IN (${dates}) AND ts >= ${from} AND ts < ${to}
GROUP BY version
ORDER BY version`;
}
