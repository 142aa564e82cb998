import { createHash } from 'node:crypto';
import { InvalidParameterError } from '../platform/errors';
import type { DuckDbEngine } from './duckdb-engine';
import { type Dialect, q } from './render-sql';

/** Rows per digest block; blocks hash in parallel and the set digest chains them in order. */
export const DIGEST_BLOCK_ROWS = 65_536;

/** How a column's values are written into a row's JSON text. */
export type DigestKind = 'integer' | 'float' | 'string' | 'bool' | 'timestamp' | 'text';

/** A column of the relation being digested. */
export interface DigestColumn {
  readonly name: string;
  readonly kind: DigestKind;
}

/**
 * Per-dialect spellings of the few functions DuckDB and Trino name differently. Everything
 * else in the digest SQL is shared text, so running the Athena rendering on DuckDB (with
 * these names mapped) proves both dialects hash the same bytes.
 */
const FN: Record<Dialect, { isNan: string; isInf: string; epochUs: (x: string) => string }> = {
  duckdb: { isNan: 'isnan', isInf: 'isinf', epochUs: (x) => `epoch_us(${x})` },
  // Athena's Hive tables hold timestamps to the millisecond; date_diff has no microsecond unit.
  athena: {
    isNan: 'is_nan',
    isInf: 'is_infinite',
    epochUs: (x) =>
      `date_diff('millisecond', TIMESTAMP '1970-01-01 00:00:00', CAST(${x} AS TIMESTAMP)) * 1000`,
  },
};

/** JSON's two-character escapes; every other control character becomes `\u00xx`. */
const SHORT_ESCAPES: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };

/** A string as a JSON string literal (what `JSON.stringify` gives), with replace() only. */
function jsonString(x: string): string {
  let e = `replace(replace(${x}, '\\', '\\\\'), '"', '\\"')`;
  for (let c = 0; c < 32; c++) {
    const esc = SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, '0')}`;
    e = `replace(${e}, chr(${c}), '${esc}')`;
  }
  return `'"' || ${e} || '"'`;
}

/**
 * A double as the exact JSON pair `[m,k]` with value m × 2^k (m an integer of at most 53
 * bits): engines print doubles differently (DuckDB `1e20` is `100000000000000000000.0`,
 * Trino's is `1.0E20`), but scaling by powers of two is exact in both. Magnitudes below
 * 2^-970 keep the bits that fit (truncated); NaN and infinities become JSON strings.
 */
function floatJson(x: string, d: Dialect): string {
  const f = FN[d];
  const e0 = `CAST(floor(log2(abs(${x}))) AS INTEGER)`;
  // log2 may be off by one at a power of two: correct it by comparing with the exact powers.
  const e = `greatest(${e0} + CASE WHEN abs(${x}) >= power(2, ${e0} + 1) THEN 1 WHEN abs(${x}) < power(2, ${e0}) THEN -1 ELSE 0 END, -970)`;
  const m = `CAST(floor(${x} * power(2, 52 - (${e}))) AS BIGINT)`;
  return (
    `CASE WHEN ${x} IS NULL THEN 'null' WHEN ${f.isNan}(${x}) THEN '"NaN"' ` +
    `WHEN ${f.isInf}(${x}) THEN CASE WHEN ${x} > 0 THEN '"Infinity"' ELSE '"-Infinity"' END ` +
    `WHEN ${x} = 0 THEN '[0,0]' ` +
    `ELSE '[' || CAST(${m} AS VARCHAR) || ',' || CAST((${e}) - 52 AS VARCHAR) || ']' END`
  );
}

/** The JSON text of one value of a column, `null` for SQL NULL. */
function valueJson(c: DigestColumn, d: Dialect): string {
  const x = q(c.name);
  switch (c.kind) {
    case 'integer':
      return `coalesce(CAST(${x} AS VARCHAR), 'null')`;
    case 'float':
      return floatJson(`CAST(${x} AS DOUBLE)`, d);
    case 'string':
      return `coalesce(${jsonString(x)}, 'null')`;
    case 'text':
      // Dates and decimals print the same in both engines; hashed as their text.
      return `coalesce(${jsonString(`CAST(${x} AS VARCHAR)`)}, 'null')`;
    case 'bool':
      return `CASE WHEN ${x} IS NULL THEN 'null' WHEN ${x} THEN 'true' ELSE 'false' END`;
    case 'timestamp':
      return `coalesce(CAST(${FN[d].epochUs(x)} AS VARCHAR), 'null')`;
  }
}

/**
 * The query returning one row per block `(b, h)`: block number and the lowercase hex sha256
 * of the block's row texts joined by `\n` in row order. `orderColumn` holds the row's
 * 0-based position. Only the aggregation differs by dialect (DuckDB `string_agg` + `sha256`,
 * Trino `array_agg` + `array_join` + `sha256(to_utf8(...))`).
 *
 * @example
 * const sql = renderDigestQuery('athena', 'ts_data', '__row_id', [{ name: 'user_id', kind: 'integer' }]);
 */
export function renderDigestQuery(
  dialect: Dialect,
  table: string,
  orderColumn: string,
  columns: readonly DigestColumn[],
): string {
  const row =
    columns.length > 0
      ? `'[' || ${columns.map((c) => valueJson(c, dialect)).join(` || ',' || `)} || ']'`
      : `'[]'`;
  const rid = q(orderColumn);
  const block = `CAST(floor(${rid} / ${DIGEST_BLOCK_ROWS}) AS BIGINT)`;
  const hash =
    dialect === 'duckdb'
      ? `sha256(string_agg("__j", chr(10) ORDER BY ${rid}))`
      : `lower(to_hex(sha256(to_utf8(array_join(array_agg("__j" ORDER BY ${rid}), chr(10))))))`;
  return (
    `SELECT "__b" AS b, ${hash} AS h FROM (SELECT ${rid}, ${block} AS "__b", ${row} AS "__j" FROM ${q(table)}) t ` +
    'GROUP BY "__b" ORDER BY "__b"'
  );
}

/**
 * The content digest from the column names and the block hashes in block order:
 * `sha256:` + hex sha256 of the JSON array of column names, then `\n` + each block hash.
 */
export function digestFromBlocks(columns: readonly string[], blockHashes: readonly string[]): string {
  const hash = createHash('sha256').update(JSON.stringify(columns));
  for (const h of blockHashes) hash.update(`\n${h}`);
  return `sha256:${hash.digest('hex')}`;
}

/** The digest kind of a DuckDB column type; undefined for types the digest does not define. */
export function digestKindOfDuckDb(type: string): DigestKind | undefined {
  const t = type.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/.test(t))
    return 'integer';
  if (t === 'DOUBLE' || t === 'FLOAT') return 'float';
  if (t === 'VARCHAR') return 'string';
  if (t === 'BOOLEAN') return 'bool';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  if (t === 'DATE' || t.startsWith('DECIMAL')) return 'text';
  return undefined;
}

/** The digest kind of a Glue/Athena column type (`bigint`, `double`, `timestamp`...). */
export function digestKindOfGlue(type: string): DigestKind | undefined {
  const t = type.toLowerCase();
  if (/^(tinyint|smallint|int|integer|bigint)$/.test(t)) return 'integer';
  if (t === 'double' || t === 'float' || t === 'real') return 'float';
  if (t === 'string' || t.startsWith('varchar')) return 'string';
  if (t === 'boolean') return 'bool';
  if (t.startsWith('timestamp')) return 'timestamp';
  if (t === 'date' || t.startsWith('decimal')) return 'text';
  return undefined;
}

/**
 * The content digest of a training set, which tracking records as its dataset version.
 * What is hashed, exactly:
 * - each row becomes the text of a JSON array of its values in column order: integers as
 *   JSON numbers, doubles as the exact pair `[m,k]` (value m × 2^k; `[0,0]` for zero,
 *   `"NaN"`, `"Infinity"`, `"-Infinity"`), strings as JSON strings (escaped as
 *   `JSON.stringify` does), booleans, `null`, timestamps as integer microseconds since
 *   1970-01-01T00:00:00Z, dates and decimals as JSON strings of their text;
 * - rows are taken in output order and cut into blocks of 65,536; a block's hash is the
 *   hex sha256 of its rows joined by `\n`;
 * - the digest is `sha256:` + hex sha256 of the JSON array of column names, then `\n`, then
 *   the block hashes joined by `\n`.
 * It depends only on the rows and their order, not on the file format or the engine: the
 * same definition renders for DuckDB here and for Athena (`renderDigestQuery`).
 *
 * @example
 * const d = await digestRelation(engine, '__training_set', '__row_id', columns);
 */
export async function digestRelation(
  engine: DuckDbEngine,
  table: string,
  orderColumn: string,
  columns: readonly string[],
): Promise<string> {
  const types = await columnTypes(engine, table);
  const cols = columns.map((name): DigestColumn => {
    const type = types.get(name) ?? '';
    const kind = digestKindOfDuckDb(type);
    if (!kind)
      throw new InvalidParameterError(
        `column '${name}' has type ${type || '(missing)'}, which the content digest does not cover; cast it to a number, string, boolean or timestamp`,
      );
    return { name, kind };
  });
  const blocks = await engine.query(renderDigestQuery('duckdb', table, orderColumn, cols));
  return digestFromBlocks(
    columns,
    blocks.map((b) => String(b['h'])),
  );
}

/** Column name → DuckDB type of a table, as both digest implementations read them. */
export async function columnTypes(engine: DuckDbEngine, table: string): Promise<Map<string, string>> {
  const rows = await engine.query(`DESCRIBE ${q(table)}`);
  return new Map(rows.map((r) => [String(r['column_name']), String(r['column_type'])]));
}
