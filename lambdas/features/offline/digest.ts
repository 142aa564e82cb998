import { createHash } from 'node:crypto';
import { InvalidParameterError } from '../../platform/errors';
import type { DuckDbEngine } from './duckdb-engine';
import { type Dialect, q } from './render-sql';

/** Rows per digest block; blocks hash independently and the set digest chains them in order. */
export const DIGEST_BLOCK_ROWS = 65_536;

/** How a column's values are encoded as bytes (see `digestRelation`). */
export type DigestKind = 'integer' | 'float' | 'string' | 'bool' | 'timestamp' | 'text';

/** A column of the relation being digested. */
export interface DigestColumn {
  readonly name: string;
  readonly kind: DigestKind;
}

/**
 * Per-dialect spellings of what DuckDB and Trino name differently: a value's bytes as hex
 * (both engines' `to_hex` is uppercase; only the bytes matter, since the hex is decoded
 * before hashing) and the ordered hash of a column within a block. Everything else in the
 * digest SQL is shared text, so running the Athena rendering on DuckDB (with Trino's
 * functions defined as macros) proves both dialects hash the same bytes.
 */
interface DialectFunctions {
  readonly isNan: string;
  readonly epochUs: (x: string) => string;
  /** Hex of a BIGINT's 8 big-endian two's complement bytes. */
  readonly int64Hex: (x: string) => string;
  /** Hex of a DOUBLE's 8 big-endian IEEE 754 bytes. */
  readonly ieeeHex: (x: string) => string;
  /** Hex of a string's 4-byte big-endian UTF-8 length, then its UTF-8 bytes. */
  readonly stringHex: (x: string) => string;
  /** Lowercase hex sha256 of the bytes of a hex column, concatenated in `order`. */
  readonly orderedHash: (hex: string, order: string) => string;
  /** Lowercase hex sha256 of an ASCII text. */
  readonly textHash: (x: string) => string;
}

const FN: Record<Dialect, DialectFunctions> = {
  duckdb: {
    isNan: 'isnan',
    epochUs: (x) => `epoch_us(${x})`,
    int64Hex: (x) => `lpad(to_hex(CAST(${x} AS BIGINT)), 16, '0')`,
    // A DOUBLE cast to BIT is its 64 IEEE bits, which cast to BIGINT as they are.
    ieeeHex: (x) => `lpad(to_hex(CAST(CAST(${x} AS BIT) AS BIGINT)), 16, '0')`,
    stringHex: (x) => `lpad(to_hex(CAST(strlen(${x}) AS INTEGER)), 8, '0') || to_hex(encode(${x}))`,
    orderedHash: (hex, order) => `sha256(unhex(string_agg(${hex}, '' ORDER BY ${order})))`,
    textHash: (x) => `sha256(${x})`,
  },
  // Athena's Hive tables hold timestamps to the millisecond; date_diff has no microsecond unit.
  athena: {
    isNan: 'is_nan',
    epochUs: (x) =>
      `date_diff('millisecond', TIMESTAMP '1970-01-01 00:00:00', CAST(${x} AS TIMESTAMP)) * 1000`,
    int64Hex: (x) => `to_hex(to_big_endian_64(CAST(${x} AS BIGINT)))`,
    ieeeHex: (x) => `to_hex(to_ieee754_64(${x}))`,
    stringHex: (x) =>
      `to_hex(to_big_endian_32(CAST(length(to_utf8(${x})) AS INTEGER))) || to_hex(to_utf8(${x}))`,
    orderedHash: (hex, order) =>
      `lower(to_hex(sha256(from_hex(array_join(array_agg(${hex} ORDER BY ${order}), '')))))`,
    textHash: (x) => `lower(to_hex(sha256(to_utf8(${x}))))`,
  },
};

const ZERO_64 = `'0000000000000000'`;

/** A value's bytes as hex (zeros for NULL: the null flags tell NULL from zero). */
function valueHex(c: DigestColumn, d: Dialect): string {
  const f = FN[d];
  const x = q(c.name);
  switch (c.kind) {
    case 'integer':
      return `coalesce(${f.int64Hex(x)}, ${ZERO_64})`;
    case 'timestamp':
      return `coalesce(${f.int64Hex(f.epochUs(x))}, ${ZERO_64})`;
    case 'float': {
      const v = `CAST(${x} AS DOUBLE)`;
      // One NaN and one zero: engines differ in NaN payloads, and -0.0 equals 0.0.
      return (
        `CASE WHEN ${v} IS NULL OR ${v} = 0 THEN ${ZERO_64} WHEN ${f.isNan}(${v}) THEN '7FF8000000000000' ` +
        `ELSE ${f.ieeeHex(v)} END`
      );
    }
    case 'bool':
      return `CASE WHEN ${x} THEN '01' ELSE '00' END`;
    case 'string':
      return `coalesce(${f.stringHex(x)}, '00000000')`;
    case 'text':
      // Dates and decimals print the same in both engines; hashed as their text.
      return `coalesce(${f.stringHex(`CAST(${x} AS VARCHAR)`)}, '00000000')`;
  }
}

/**
 * The query returning one row per block `(b, h)`: block number and the block's hash (see
 * `digestRelation` for the definition). `orderColumn` holds the row's 0-based position.
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
  const f = FN[dialect];
  const rid = q(orderColumn);
  const block = `CAST(floor(${rid} / ${DIGEST_BLOCK_ROWS}) AS BIGINT)`;
  const inner = columns.flatMap((c, k) => [
    `${valueHex(c, dialect)} AS "__x${k}"`,
    `CASE WHEN ${q(c.name)} IS NULL THEN '00' ELSE '01' END AS "__n${k}"`,
  ]);
  const hashes = columns.flatMap((_, k) => [
    `${f.orderedHash(`"__x${k}"`, rid)} AS "__v${k}"`,
    `${f.orderedHash(`"__n${k}"`, rid)} AS "__f${k}"`,
  ]);
  const text = columns.length > 0 ? columns.map((_, k) => `"__v${k}" || "__f${k}"`).join(' || ') : `''`;
  return (
    `SELECT "__b" AS b, ${f.textHash(text)} AS h FROM (` +
    `SELECT "__b"${hashes.length ? `, ${hashes.join(', ')}` : ''} FROM (` +
    `SELECT ${rid}, ${block} AS "__b"${inner.length ? `, ${inner.join(', ')}` : ''} FROM ${q(table)}) t ` +
    `GROUP BY "__b") g ORDER BY "__b"`
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
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER)$/.test(t)) return 'integer';
  // Integers that may not fit 64 signed bits are hashed as their decimal text.
  if (t === 'HUGEINT' || t === 'UBIGINT') return 'text';
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
 * - rows are taken in output order and cut into blocks of 65,536;
 * - within a block, each column gives two byte strings, its values and its null flags, in
 *   row order. A value is 8 bytes for integers (big-endian two's complement), timestamps
 *   (integer microseconds since 1970-01-01T00:00:00Z, the same) and doubles (big-endian
 *   IEEE 754; every NaN as 7FF8000000000000 and -0.0 as 0.0), 1 byte for booleans, and
 *   for strings a 4-byte big-endian UTF-8 length then the UTF-8 bytes (dates, decimals and
 *   integers wider than 64 bits are hashed as their text). A NULL is written as zeros of
 *   the value's width (a string's length 0) and its flag is 00; a present value's flag is 01;
 * - a block's hash is the hex sha256 of the ASCII text that concatenates, column by column,
 *   the lowercase hex sha256 of its values and of its flags;
 * - the digest is `sha256:` + hex sha256 of the JSON array of column names, then `\n`, then
 *   the block hashes joined by `\n`.
 * It depends only on the rows and their order, not on the file format or the engine: the
 * same definition renders for DuckDB here and for Athena (`renderDigestQuery`), and
 * `digestTable` computes it over DuckDB's column vectors. Fixed-width binary values make
 * the local computation little more than hashing the vectors' bytes.
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
  const cols = await digestColumns(engine, table, columns);
  const blocks = await engine.query(renderDigestQuery('duckdb', table, orderColumn, cols));
  return digestFromBlocks(
    columns,
    blocks.map((b) => String(b['h'])),
  );
}

/**
 * The digest kind and DuckDB type of each named column of a table, as both digest
 * implementations read them; a column type the digest does not define is an error naming it.
 */
export async function digestColumns(
  engine: DuckDbEngine,
  table: string,
  columns: readonly string[],
): Promise<(DigestColumn & { readonly type: string })[]> {
  const rows = await engine.query(`DESCRIBE ${q(table)}`);
  const types = new Map(rows.map((r) => [String(r['column_name']), String(r['column_type'])]));
  return columns.map((name) => {
    const type = types.get(name) ?? '';
    const kind = digestKindOfDuckDb(type);
    if (!kind)
      throw new InvalidParameterError(
        `column '${name}' has type ${type || '(missing)'}, which the content digest does not cover; cast it to a number, string, boolean or timestamp`,
      );
    return { name, kind, type };
  });
}
