import type { SqlEngine, SqlRow } from '../../features/offline/sql-engine';
import type { CategoricalSummary, NumericGrid, NumericSummary } from '../drift/accumulators';
import {
  HOUR_ID,
  type LogSource,
  type PlannedColumn,
  renderWindowQueries,
  STATUS_ID,
  type WindowPlan,
} from './window-plan';

/** One model version's window, summarized: what the drift comparison and the report read. */
export interface WindowSummary {
  /** Successful rows (failures excluded). */
  readonly rows: number;
  readonly failures: number;
  /** Per hour (epoch ms of its start): predictions and their sum. */
  readonly hours: ReadonlyMap<number, { readonly n: number; readonly sum: number }>;
  readonly features: ReadonlyMap<string, NumericSummary | CategoricalSummary>;
  readonly prediction: NumericSummary;
}

const HOUR_MS = 3_600_000;

/** Athena answers text, DuckDB numbers and bigints: one reading for both. */
const num = (v: unknown): number => (v === null || v === undefined ? Number.NaN : Number(v));

function numericSummary(rows: readonly SqlRow[], grid: NumericGrid, total: number): NumericSummary {
  const m = grid.edges.length;
  const counts = new Float64Array(m + 1);
  const atEdge = new Float64Array(m + 1);
  let lowSum = 0;
  let highSum = 0;
  let stats: SqlRow | undefined;
  for (const r of rows) {
    if (num(r['g']) !== 0) {
      stats = r;
      continue;
    }
    if (r['bkt'] === null || r['bkt'] === undefined) continue;
    const b = num(r['bkt']);
    counts[b] = num(r['n']);
    atEdge[b] = num(r['e']);
    if (b === 0) lowSum = num(r['s']);
    if (b === m) highSum = num(r['s']);
  }
  const n = stats ? num(stats['nx']) : 0;
  return {
    kind: 'numeric',
    total,
    missing: total - n,
    n,
    mean: n ? num(stats!['mean']) : Number.NaN,
    std: n ? num(stats!['std']) : Number.NaN,
    min: n ? num(stats!['mn']) : Number.POSITIVE_INFINITY,
    max: n ? num(stats!['mx']) : Number.NEGATIVE_INFINITY,
    grid,
    binned: { n, counts, atEdge, lowSum, highSum },
  };
}

function categoricalSummary(rows: readonly SqlRow[], total: number): CategoricalSummary {
  const counts = new Map<string, number>();
  let n = 0;
  for (const r of rows) {
    if (num(r['g']) !== 0 || r['c'] === null || r['c'] === undefined) continue;
    const k = String(r['c']);
    const c = num(r['n']);
    counts.set(k, (counts.get(k) ?? 0) + c);
    n += c;
  }
  return { kind: 'categorical', total, missing: total - n, n, counts };
}

/**
 * Runs the window's aggregation (lambdas/monitoring/aggregate/window-plan.ts) on an engine
 * and turns its rows into the summaries the drift statistics compare: numeric ones as counts
 * on the baseline's grid, as the job's own accumulators produce past `exactLimit`.
 *
 * @example
 * const summary = await aggregateWindow(engine, { dialect: 'duckdb', table }, plan);
 */
export async function aggregateWindow(
  engine: SqlEngine,
  source: LogSource,
  plan: WindowPlan,
): Promise<WindowSummary> {
  const queries = renderWindowQueries(plan, source);
  const results = await Promise.all(queries.map((q) => engine.query(q.sql)));
  const byId = new Map<string, SqlRow[]>();
  for (const rows of results) {
    for (const r of rows) {
      const id = String(r['feature']);
      let list = byId.get(id);
      if (!list) {
        list = [];
        byId.set(id, list);
      }
      list.push(r);
    }
  }
  let rows = 0;
  let failures = 0;
  for (const r of byId.get(STATUS_ID) ?? []) {
    if (num(r['g']) !== 0) continue;
    if (num(r['bkt']) === 1) rows = num(r['n']);
    else failures = num(r['n']);
  }
  const hours = new Map<number, { n: number; sum: number }>();
  for (const r of byId.get(HOUR_ID) ?? []) {
    if (num(r['g']) !== 0 || !(num(r['nx']) > 0)) continue;
    hours.set(num(r['bkt']) * HOUR_MS, { n: num(r['nx']), sum: num(r['s']) });
  }
  const features = new Map<string, NumericSummary | CategoricalSummary>();
  let prediction: NumericSummary | undefined;
  const columns: PlannedColumn[] = queries.flatMap((q) => [...q.columns]);
  for (const c of columns) {
    const own = byId.get(c.id) ?? [];
    if (c.kind === 'prediction') prediction = numericSummary(own, c.grid, rows);
    else if (c.kind === 'numeric') features.set(c.name, numericSummary(own, c.grid, rows));
    else features.set(c.name, categoricalSummary(own, rows));
  }
  return { rows, failures, hours, features, prediction: prediction! };
}
