import type { ColumnDef, ExpectationDef, SourceDef, ValueType } from '../definitions/schema';
import type { DuckDbEngine } from '../offline/duckdb-engine';
import { literal, q } from '../offline/render-sql';
import { sqlType } from '../offline/sql-types';

/** One check's outcome, as the quarantine report shows it. */
export interface CheckResult {
  readonly check: 'schema' | 'type' | 'nulls' | 'range' | 'allowed' | 'expectation';
  readonly column?: string;
  readonly passed: boolean;
  readonly message: string;
  readonly failingRows?: number;
  readonly examples?: readonly string[];
}

const ZONED = `'(Z|z|[+-]\\d{2}(:?\\d{2})?)$'`;
const INTEGER = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER']);

/**
 * Checks a raw batch (`table`, as read from CSV as text or from Parquet as typed) against its
 * source: columns present and unique, values of the declared types (timestamps must carry a
 * zone), null rules, ranges, allowed values, then distribution expectations. Returns every
 * result, failed or not, and creates `typedTable` with the declared types when all passed.
 *
 * @example
 * const results = await checkBatch(engine, '__batch', '__batch_typed', source, header, ['user_id', 'ts']);
 */
export async function checkBatch(
  engine: DuckDbEngine,
  table: string,
  typedTable: string,
  source: SourceDef,
  header: readonly string[],
  requiredNonNull: ReadonlySet<string>,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const described = await engine.query(`DESCRIBE ${q(table)}`);
  const rawTypes = new Map(described.map((r) => [String(r['column_name']), String(r['column_type'])]));
  const dupes = header.filter((h, i) => header.indexOf(h) !== i);
  if (dupes.length > 0) {
    results.push({
      check: 'schema',
      passed: false,
      message: `duplicate column(s): ${[...new Set(dupes)].join(', ')}`,
    });
    return results;
  }
  const missing = source.columns.filter((c) => !rawTypes.has(c.name)).map((c) => c.name);
  const extra = [...rawTypes.keys()].filter((n) => !source.columns.some((c) => c.name === n));
  results.push({
    check: 'schema',
    passed: missing.length === 0,
    message:
      missing.length > 0
        ? `missing column(s): ${missing.join(', ')}`
        : `all ${source.columns.length} columns present${extra.length ? `; ignored extra column(s): ${extra.join(', ')}` : ''}`,
  });
  const typed: ColumnDef[] = [];
  for (const col of source.columns) {
    const raw = rawTypes.get(col.name);
    if (!raw) continue;
    const r = await checkType(engine, table, col, raw);
    results.push(r);
    if (r.passed) typed.push(col);
  }
  if (results.some((r) => !r.passed)) return results;

  const select = typed.map((c) => `${castExpr(c.name, c.type, rawTypes.get(c.name) ?? '')} AS ${q(c.name)}`);
  await engine.run(
    `CREATE OR REPLACE TEMP TABLE ${q(typedTable)} AS SELECT ${select.join(', ')} FROM ${q(table)}`,
  );
  for (const col of typed) {
    const c = q(col.name);
    if (col.nullable === false || requiredNonNull.has(col.name)) {
      results.push(
        await countRule(
          engine,
          typedTable,
          col.name,
          'nulls',
          `${c} IS NULL`,
          'are null; the column must not be null',
        ),
      );
    }
    if (col.min !== undefined || col.max !== undefined) {
      const conds = [
        col.min !== undefined ? `${c} < ${col.min}` : '',
        col.max !== undefined ? `${c} > ${col.max}` : '',
      ].filter(Boolean);
      results.push(
        await countRule(
          engine,
          typedTable,
          col.name,
          'range',
          `(${conds.join(' OR ')})`,
          `are outside [${col.min ?? '-inf'}, ${col.max ?? '+inf'}]`,
        ),
      );
    }
    if (col.allowed) {
      const list = col.allowed.map((v) => (typeof v === 'string' ? literal(v) : String(v))).join(', ');
      results.push(
        await countRule(
          engine,
          typedTable,
          col.name,
          'allowed',
          `${c} IS NOT NULL AND ${c} NOT IN (${list})`,
          `are not one of ${col.allowed.join(', ')}`,
        ),
      );
    }
  }
  for (const e of source.expectations ?? []) results.push(await checkExpectation(engine, typedTable, e));
  return results;
}

async function checkType(
  engine: DuckDbEngine,
  table: string,
  col: ColumnDef,
  raw: string,
): Promise<CheckResult> {
  const c = q(col.name);
  if (raw === 'VARCHAR' && col.type !== 'string') {
    const bad =
      col.type === 'timestamp'
        ? `NOT regexp_matches(trim(${c}), ${ZONED}) OR TRY_CAST(trim(${c}) AS TIMESTAMPTZ) IS NULL`
        : `TRY_CAST(trim(${c}) AS ${sqlType(col.type)}) IS NULL`;
    const what = col.type === 'timestamp' ? 'zoned timestamps (ISO 8601 with Z or an offset)' : col.type;
    return countRule(engine, table, col.name, 'type', `${c} IS NOT NULL AND (${bad})`, `are not ${what}`);
  }
  const ok =
    (col.type === 'string' && raw === 'VARCHAR') ||
    (col.type === 'int64' && INTEGER.has(raw)) ||
    (col.type === 'float64' &&
      (INTEGER.has(raw) || raw === 'FLOAT' || raw === 'DOUBLE' || raw.startsWith('DECIMAL'))) ||
    (col.type === 'bool' && raw === 'BOOLEAN') ||
    (col.type === 'timestamp' && raw === 'TIMESTAMP WITH TIME ZONE');
  const naive = col.type === 'timestamp' && (raw === 'TIMESTAMP' || raw.startsWith('TIMESTAMP_'));
  return {
    check: 'type',
    column: col.name,
    passed: ok,
    message: ok
      ? `type ${raw} fits ${col.type}`
      : naive
        ? `type ${raw} has no time zone; write UTC-adjusted timestamps (TIMESTAMPTZ) or ISO strings with Z or an offset`
        : `type ${raw} does not fit ${col.type}`,
  };
}

function castExpr(name: string, type: ValueType, raw: string): string {
  const c = raw === 'VARCHAR' && type !== 'string' ? `trim(${q(name)})` : q(name);
  return `CAST(${c} AS ${sqlType(type)})`;
}

async function countRule(
  engine: DuckDbEngine,
  table: string,
  column: string,
  check: CheckResult['check'],
  failing: string,
  what: string,
): Promise<CheckResult> {
  const rows = await engine.query(
    `SELECT count(*) AS n, list(CAST(${q(column)} AS VARCHAR)) FILTER (WHERE ${q(column)} IS NOT NULL)[1:3] AS ex FROM ${q(table)} WHERE ${failing}`,
  );
  const n = Number(rows[0]?.['n'] ?? 0);
  const examples = ((rows[0]?.['ex'] as unknown[] | null) ?? []).map(String);
  return {
    check,
    column,
    passed: n === 0,
    message:
      n === 0
        ? `ok`
        : `${n} row(s) ${what}${examples.length ? ` (e.g. ${examples.map((e) => `'${e}'`).join(', ')})` : ''}`,
    failingRows: n,
    ...(examples.length ? { examples } : {}),
  };
}

async function checkExpectation(
  engine: DuckDbEngine,
  table: string,
  e: ExpectationDef,
): Promise<CheckResult> {
  const c = e.column ? q(e.column) : '';
  const metric: Record<ExpectationDef['metric'], string> = {
    rowCount: 'count(*)',
    mean: `avg(${c})`,
    stddev: `stddev_samp(${c})`,
    min: `CAST(min(${c}) AS DOUBLE)`,
    max: `CAST(max(${c}) AS DOUBLE)`,
    nullFraction: `CASE WHEN count(*) = 0 THEN 0 ELSE count(*) FILTER (WHERE ${c} IS NULL) / count(*) END`,
    distinctCount: `count(DISTINCT ${c})`,
  };
  const rows = await engine.query(`SELECT CAST(${metric[e.metric]} AS DOUBLE) AS v FROM ${q(table)}`);
  const raw = rows[0]?.['v'];
  const v = raw === null || raw === undefined ? null : Number(raw);
  const passed = v !== null && (e.min === undefined || v >= e.min) && (e.max === undefined || v <= e.max);
  const range = `[${e.min ?? '-inf'}, ${e.max ?? '+inf'}]`;
  return {
    check: 'expectation',
    ...(e.column ? { column: e.column } : {}),
    passed,
    message: `${e.metric}${e.column ? ` of ${e.column}` : ''} is ${v === null ? 'undefined' : round(v)}; expected within ${range}`,
  };
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}
