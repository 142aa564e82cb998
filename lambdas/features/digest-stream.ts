import { createHash } from 'node:crypto';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { InvalidParameterError } from '../platform/errors';
import {
  columnTypes,
  DIGEST_BLOCK_ROWS,
  type DigestKind,
  digestFromBlocks,
  digestKindOfDuckDb,
} from './digest';
import type { DuckDbEngine } from './duckdb-engine';
import { q } from './render-sql';

/**
 * The content digest of a local DuckDB table (definition: `digest.ts`), computed in JS over
 * the table's column vectors instead of by SQL. Same bytes, same hashes: DuckDB only scans
 * the columns (numbers arrive as raw 64-bit words), the row texts are written straight into
 * a byte buffer and hashed with Node's sha256. About 3x less CPU than building every row's
 * text and the ordered `string_agg` in SQL, which mattered for training sets of millions of
 * rows. Rows are read in storage order and must come in increasing `orderColumn`; a table
 * stored out of order is read again sorted.
 *
 * @example
 * const d = await digestTable(engine, '__training_set', '__row_id', columns);
 */
export async function digestTable(
  engine: DuckDbEngine,
  table: string,
  orderColumn: string,
  columns: readonly string[],
): Promise<string> {
  const types = await columnTypes(engine, table);
  const readers = columns.map((name) => columnReader(name, types.get(name) ?? ''));
  const select = `SELECT CAST(${q(orderColumn)} AS BIGINT), ${readers.map((r) => r.sql).join(', ')} FROM ${q(table)}`;
  const unordered = await hashBlocks(engine, select, readers);
  const blocks = unordered ?? (await hashBlocks(engine, `${select} ORDER BY 1`, readers));
  if (!blocks) throw new Error(`digest: rows of '${table}' are not in ${orderColumn} order after sorting`);
  return digestFromBlocks(columns, blocks);
}

/** How one column is selected and written: `sql` normalizes the type the writer reads. */
interface ColumnReader {
  readonly sql: string;
  readonly write: (out: BlockBytes, col: ColumnData, row: number) => void;
  readonly raw: 'int64' | 'float64' | 'bool' | 'string';
}

/** One column of one chunk: raw values and validity bits. */
interface ColumnData {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  readonly strings: readonly (string | null)[];
  readonly valid: Uint8Array | null;
}

const SMALL_INTEGERS = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER)$/;

function columnReader(name: string, type: string): ColumnReader {
  const kind: DigestKind | undefined = digestKindOfDuckDb(type);
  const x = q(name);
  switch (kind) {
    case 'integer':
      // HUGEINT and UBIGINT may not fit 64 signed bits: DuckDB prints them (the definition's text anyway).
      return SMALL_INTEGERS.test(type.toUpperCase())
        ? { sql: `CAST(${x} AS BIGINT)`, write: writeInt64, raw: 'int64' }
        : { sql: `CAST(${x} AS VARCHAR)`, write: writeVerbatim, raw: 'string' };
    case 'timestamp':
      return { sql: `epoch_us(${x})`, write: writeInt64, raw: 'int64' };
    case 'float':
      return { sql: `CAST(${x} AS DOUBLE)`, write: writeFloat, raw: 'float64' };
    case 'bool':
      return { sql: x, write: writeBool, raw: 'bool' };
    case 'string':
      return { sql: x, write: writeJsonString, raw: 'string' };
    case 'text':
      return { sql: `CAST(${x} AS VARCHAR)`, write: writeJsonString, raw: 'string' };
    case undefined:
      throw new InvalidParameterError(
        `column '${name}' has type ${type || '(missing)'}, which the content digest does not cover; cast it to a number, string, boolean or timestamp`,
      );
  }
}

/**
 * Streams the query (row id first, then the readers' columns) and returns the block hashes,
 * or undefined when the row ids do not increase (the caller sorts then).
 */
async function hashBlocks(
  engine: DuckDbEngine,
  sql: string,
  readers: readonly ColumnReader[],
): Promise<string[] | undefined> {
  const result = await engine.connection.stream(sql);
  const blocks: string[] = [];
  const out = new BlockBytes();
  let block = -1;
  let last = -1;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    const ids = columnData(chunk, 0, 'int64', n).i32;
    const cols = readers.map((r, c) => columnData(chunk, c + 1, r.raw, n));
    for (let i = 0; i < n; i++) {
      const id = ids[2 * i + 1]! * 4294967296 + (ids[2 * i]! >>> 0);
      if (id <= last) return undefined;
      last = id;
      const b = Math.floor(id / DIGEST_BLOCK_ROWS);
      if (b !== block) {
        if (block >= 0) blocks.push(out.hash());
        block = b;
      } else out.byte(10); // '\n' between rows of a block
      out.byte(91); // '['
      for (let c = 0; c < readers.length; c++) {
        if (c > 0) out.byte(44); // ','
        const col = cols[c] as ColumnData;
        if (col.valid && !((col.valid[i >> 3] as number) & (1 << (i & 7)))) out.ascii('null');
        else (readers[c] as ColumnReader).write(out, col, i);
      }
      out.byte(93); // ']'
    }
  }
  if (block >= 0) blocks.push(out.hash());
  return blocks;
}

const EMPTY_I32 = new Int32Array(0);
const EMPTY_F64 = new Float64Array(0);
const EMPTY_U8 = new Uint8Array(0);

function columnData(chunk: DuckDBDataChunk, index: number, raw: ColumnReader['raw'], n: number): ColumnData {
  const vector = duckdb.data_chunk_get_vector(chunk.chunk, index);
  const valid = duckdb.vector_get_validity(vector, Math.ceil(n / 64) * 8) ?? null;
  if (raw === 'string') {
    const v = chunk.getColumnVector(index);
    const strings: (string | null)[] = [];
    for (let i = 0; i < n; i++) strings.push(v.getItem(i) as string | null);
    return { i32: EMPTY_I32, f64: EMPTY_F64, u8: EMPTY_U8, strings, valid };
  }
  const width = raw === 'bool' ? 1 : 8;
  // Copied out of the chunk: the chunk's memory is DuckDB's and is released with it.
  const bytes = duckdb.vector_get_data(vector, n * width).slice();
  return {
    i32: raw === 'int64' ? new Int32Array(bytes.buffer, 0, n * 2) : EMPTY_I32,
    f64: raw === 'float64' ? new Float64Array(bytes.buffer, 0, n) : EMPTY_F64,
    u8: raw === 'bool' ? bytes : EMPTY_U8,
    strings: [],
    valid,
  };
}

/** The block being written: its row texts joined by '\n', as UTF-8 bytes. One per digest. */
class BlockBytes {
  b = new Uint8Array(1 << 22);
  n = 0;

  room(k: number): void {
    if (this.n + k <= this.b.length) return;
    const bigger = new Uint8Array(Math.max(this.b.length * 2, this.n + k));
    bigger.set(this.b.subarray(0, this.n));
    this.b = bigger;
  }

  byte(c: number): void {
    this.room(1);
    this.b[this.n++] = c;
  }

  ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.b[this.n++] = s.charCodeAt(i);
  }

  utf8(s: string): void {
    this.room(s.length * 3);
    this.n += encoder.encodeInto(s, this.b.subarray(this.n)).written;
  }

  /** Hex sha256 of the block so far; starts the next block. */
  hash(): string {
    const h = createHash('sha256').update(this.b.subarray(0, this.n)).digest('hex');
    this.n = 0;
    return h;
  }

  /** An integer of magnitude below 2^53 in decimal, as DuckDB's CAST to VARCHAR prints it. */
  decimal(v: number): void {
    this.room(22);
    if (v < 0) {
      this.b[this.n++] = 45; // '-'
      v = -v;
    }
    if (v >= 100_000_000) {
      // Two parts below 10^8 so every step is int32 arithmetic (2^53 < 10^16).
      const hi = Math.floor(v / 100_000_000);
      this.digits(hi);
      this.eightDigits(v - hi * 100_000_000);
    } else this.digits(v);
  }

  /** 0 <= v < 10^8, without leading zeros. */
  private digits(v: number): void {
    const b = this.b;
    if (v < 10000) {
      const d = v < 100 ? (v < 10 ? 1 : 2) : v < 1000 ? 3 : 4;
      const t = (v << 2) + 4 - d;
      for (let k = 0; k < d; k++) b[this.n++] = QUADS[t + k] as number;
      return;
    }
    const hi = (v / 10000) | 0;
    this.digits(hi);
    this.quad(v - hi * 10000);
  }

  /** 0 <= v < 10^8, zero-padded to eight digits. */
  private eightDigits(v: number): void {
    const hi = (v / 10000) | 0;
    this.quad(hi);
    this.quad(v - hi * 10000);
  }

  /** 0 <= v < 10^4, zero-padded to four digits. */
  private quad(v: number): void {
    const b = this.b;
    const t = v << 2;
    b[this.n] = QUADS[t] as number;
    b[this.n + 1] = QUADS[t + 1] as number;
    b[this.n + 2] = QUADS[t + 2] as number;
    b[this.n + 3] = QUADS[t + 3] as number;
    this.n += 4;
  }
}

/** ASCII of "0000".."9999": four bytes per number, zero-padded (40 KB, stays in cache). */
const QUADS = Uint8Array.from(
  { length: 40000 },
  (_, i) => 48 + (Math.floor((i >> 2) / 10 ** (3 - (i & 3))) % 10),
);

const encoder = new TextEncoder();

function writeInt64(out: BlockBytes, col: ColumnData, i: number): void {
  const hi = col.i32[2 * i + 1] as number;
  const lo = (col.i32[2 * i] as number) >>> 0;
  // |value| < 2^53 is exact as a double; beyond, BigInt prints it.
  if (hi >= -2_097_152 && hi < 2_097_152) out.decimal(hi * 4294967296 + lo);
  else out.ascii(((BigInt(hi) << 32n) | BigInt(lo)).toString());
}

// 2^k for k in [-1100, 1100), looked up rather than computed per value.
const POW2 = Float64Array.from({ length: 2200 }, (_, i) => 2 ** (i - 1100));
// Little-endian words (x64, arm64), as the int64 reads above assume: the high word holds the exponent.
const BITS = new Float64Array(1);
const BITS_HI = new Uint32Array(BITS.buffer, 4, 1);

/**
 * A double as the definition's `[m,k]`: e = floor(log2 |x|) read from the exponent bits
 * (exact, where SQL corrects log2 by comparing with powers of two), clamped at -970, and
 * m = floor(x × 2^(52 - e)), exact since scaling by a power of two is.
 */
function writeFloat(out: BlockBytes, col: ColumnData, i: number): void {
  const x = col.f64[i] as number;
  if (Number.isNaN(x)) out.ascii('"NaN"');
  else if (x === Number.POSITIVE_INFINITY) out.ascii('"Infinity"');
  else if (x === Number.NEGATIVE_INFINITY) out.ascii('"-Infinity"');
  else if (x === 0) out.ascii('[0,0]');
  else writePair(out, x);
}

function writePair(out: BlockBytes, x: number): void {
  BITS[0] = x;
  const e = Math.max((((BITS_HI[0] as number) >>> 20) & 0x7ff) - 1023, -970);
  out.byte(91);
  out.decimal(Math.floor(x * (POW2[1100 + 52 - e] as number)));
  out.byte(44);
  out.decimal(e - 52);
  out.byte(93);
}

function writeBool(out: BlockBytes, col: ColumnData, i: number): void {
  out.ascii(col.u8[i] ? 'true' : 'false');
}

function writeJsonString(out: BlockBytes, col: ColumnData, i: number): void {
  out.utf8(JSON.stringify(col.strings[i]));
}

function writeVerbatim(out: BlockBytes, col: ColumnData, i: number): void {
  out.utf8(col.strings[i] as string);
}
