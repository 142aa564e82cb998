import { createHash, type Hash } from 'node:crypto';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { DIGEST_BLOCK_ROWS, type DigestColumn, digestColumns, digestFromBlocks } from './digest';
import type { DuckDbEngine } from './duckdb-engine';
import { q } from './render-sql';

/** Blocks read per query: bounds the rows held twice (table and result) at once. */
const SLICE_BLOCKS = 16;

/**
 * The content digest of a local DuckDB table (definition: `digestRelation` in `digest.ts`),
 * computed in JS over the table's column vectors instead of by SQL. Same bytes, same
 * hashes: DuckDB scans the columns, and each chunk's values are byte-swapped into a scratch
 * buffer (NULLs zeroed, NaN and -0.0 normalized) and hashed; strings are encoded as they
 * come: about a sixth of the SQL rendering's CPU. The table is read in slices of row ids;
 * a slice stored out of `orderColumn` order is read again sorted.
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
  const readers = (await digestColumns(engine, table, columns)).map(columnReader);
  const id = `CAST(${q(orderColumn)} AS BIGINT)`;
  const [range] = await engine.query(`SELECT min(${id}) AS lo, max(${id}) AS hi FROM ${q(table)}`);
  const blocks: string[] = [];
  if (range?.['lo'] !== null && range?.['lo'] !== undefined) {
    const first = Math.floor(Number(range['lo']) / DIGEST_BLOCK_ROWS);
    const last = Math.floor(Number(range['hi']) / DIGEST_BLOCK_ROWS);
    const scratch = new Scratch();
    for (let b = first; b <= last; b += SLICE_BLOCKS) {
      const where = `WHERE ${id} >= ${b * DIGEST_BLOCK_ROWS} AND ${id} < ${(b + SLICE_BLOCKS) * DIGEST_BLOCK_ROWS}`;
      const select = `SELECT ${id}, ${readers.map((r) => r.sql).join(', ')} FROM ${q(table)} ${where}`;
      const hashes =
        (await hashSlice(engine, select, readers, scratch)) ??
        (await hashSlice(engine, `${select} ORDER BY 1`, readers, scratch));
      if (!hashes) throw new Error(`digest: rows of '${table}' have repeated ${orderColumn} values`);
      blocks.push(...hashes);
    }
  }
  return digestFromBlocks(columns, blocks);
}

/** How a column's values arrive from DuckDB: 8-byte integers, doubles, booleans or strings. */
type Raw = 'int64' | 'float64' | 'bool' | 'string';

/** How one column is selected: `sql` normalizes the type to what `raw` reads. */
interface ColumnReader {
  readonly sql: string;
  readonly raw: Raw;
}

function columnReader({ name, kind, type }: DigestColumn & { type: string }): ColumnReader {
  const x = q(name);
  switch (kind) {
    case 'integer':
      return { sql: `CAST(${x} AS BIGINT)`, raw: 'int64' };
    case 'timestamp':
      // TIMESTAMP and TIMESTAMPTZ already hold microseconds: read as they are stored.
      return /^TIMESTAMP( WITH TIME ZONE)?$/i.test(type)
        ? { sql: x, raw: 'int64' }
        : { sql: `epoch_us(${x})`, raw: 'int64' };
    case 'float':
      return { sql: `CAST(${x} AS DOUBLE)`, raw: 'float64' };
    case 'bool':
      return { sql: x, raw: 'bool' };
    case 'string':
      return { sql: x, raw: 'string' };
    case 'text':
      return { sql: `CAST(${x} AS VARCHAR)`, raw: 'string' };
  }
}

/** The two running hashes of one column within a block. */
interface ColumnHashes {
  readonly values: Hash;
  readonly flags: Hash;
}

/**
 * Runs one slice's query (row id first, then the columns) and hashes its blocks. Undefined
 * when the row ids do not strictly increase: the caller reads the slice again sorted.
 */
async function hashSlice(
  engine: DuckDbEngine,
  sql: string,
  readers: readonly ColumnReader[],
  scratch: Scratch,
): Promise<string[] | undefined> {
  // Materialized: one call runs the scan on DuckDB's threads, then chunks are read synchronously.
  const result = await engine.connection.run(sql);
  const hashes: string[] = [];
  let open: ColumnHashes[] | undefined;
  let block = Number.NaN;
  let last = -1;
  const close = () => {
    if (open) hashes.push(blockHash(open));
    open = readers.map(() => ({ values: createHash('sha256'), flags: createHash('sha256') }));
  };
  for (let k = 0; k < result.chunkCount; k++) {
    const chunk = result.getChunk(k);
    const n = chunk.rowCount;
    if (n === 0) continue;
    const idBytes = vectorBytes(chunk, 0, n * 8);
    const ids = new Int32Array(idBytes.buffer, idBytes.byteOffset, n * 2);
    let from = 0;
    for (let i = 0; i < n; i++) {
      const rid = (ids[2 * i + 1] as number) * 4294967296 + ((ids[2 * i] as number) >>> 0);
      if (rid <= last) return undefined;
      last = rid;
      const b = Math.floor(rid / DIGEST_BLOCK_ROWS);
      if (b !== block) {
        if (open && i > from) hashRows(chunk, readers, open, from, i, scratch);
        close();
        block = b;
        from = i;
      }
    }
    hashRows(chunk, readers, open as ColumnHashes[], from, n, scratch);
  }
  if (open) hashes.push(blockHash(open));
  return hashes;
}

function blockHash(columns: readonly ColumnHashes[]): string {
  const text = columns.map((c) => c.values.digest('hex') + c.flags.digest('hex')).join('');
  return createHash('sha256').update(text).digest('hex');
}

/** Adds rows [from, to) of a chunk's value columns (1..) to the block's column hashes. */
function hashRows(
  chunk: DuckDBDataChunk,
  readers: readonly ColumnReader[],
  hashes: readonly ColumnHashes[],
  from: number,
  to: number,
  s: Scratch,
): void {
  const rows = to - from;
  for (let c = 0; c < readers.length; c++) {
    const { raw } = readers[c] as ColumnReader;
    const h = hashes[c] as ColumnHashes;
    const vector = duckdb.data_chunk_get_vector(chunk.chunk, c + 1);
    // Read while the chunk is alive: these are views of DuckDB's memory.
    const valid = duckdb.vector_get_validity(vector, Math.ceil(to / 64) * 8) ?? null;
    const present =
      valid === null ? always : (i: number) => ((valid[i >> 3] as number) & (1 << (i & 7))) !== 0;
    if (valid === null) h.flags.update(ONES.subarray(0, rows));
    else {
      for (let i = from; i < to; i++) s.flags[i - from] = present(i) ? 1 : 0;
      h.flags.update(s.flags.subarray(0, rows));
    }
    if (raw === 'string') {
      h.values.update(s.strings(chunk.getColumnVector(c + 1), from, to, present));
    } else if (raw === 'bool') {
      const data = duckdb.vector_get_data(vector, to);
      for (let i = from; i < to; i++) s.flags[i - from] = present(i) && data[i] ? 1 : 0;
      h.values.update(s.flags.subarray(0, rows));
    } else {
      const data = duckdb.vector_get_data(vector, to * 8);
      const words = new Int32Array(data.buffer, data.byteOffset, to * 2);
      if (raw === 'float64') normalizeDoubles(words, from, to, s.words, present);
      else swapInt64(words, from, to, s.words, present);
      h.values.update(s.bytes.subarray(0, rows * 8));
    }
  }
}

/** Big-endian bytes of 64-bit integers (little-endian words in): zeros for NULL. */
function swapInt64(
  words: Int32Array,
  from: number,
  to: number,
  out: Int32Array,
  present: (i: number) => boolean,
): void {
  for (let i = from, o = 0; i < to; i++, o += 2) {
    if (present(i)) {
      out[o] = swap(words[2 * i + 1] as number);
      out[o + 1] = swap(words[2 * i] as number);
    } else out[o] = out[o + 1] = 0;
  }
}

/** Big-endian IEEE bytes of doubles: zeros for NULL and -0.0, one NaN for every NaN. */
function normalizeDoubles(
  words: Int32Array,
  from: number,
  to: number,
  out: Int32Array,
  present: (i: number) => boolean,
): void {
  for (let i = from, o = 0; i < to; i++, o += 2) {
    const hi = words[2 * i + 1] as number;
    const lo = words[2 * i] as number;
    if (!present(i) || ((hi & 0x7fffffff) | lo) === 0) out[o] = out[o + 1] = 0;
    else if ((hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0) {
      out[o] = swap(0x7ff80000);
      out[o + 1] = 0;
    } else {
      out[o] = swap(hi);
      out[o + 1] = swap(lo);
    }
  }
}

const always = () => true;

function swap(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/** 2048 = DuckDB's rows per chunk; a part of a chunk is never longer. */
const CHUNK_ROWS = 2048;
const ONES = new Uint8Array(CHUNK_ROWS).fill(1);

/** Buffers reused from chunk to chunk. */
class Scratch {
  readonly bytes = new Uint8Array(CHUNK_ROWS * 8);
  readonly words = new Int32Array(this.bytes.buffer);
  readonly flags = new Uint8Array(CHUNK_ROWS);
  private text = new Uint8Array(1 << 16);
  private view = new DataView(this.text.buffer);

  /** Rows [from, to) of a string column: 4-byte big-endian UTF-8 length, then the bytes. */
  strings(
    vector: { getItem(i: number): unknown },
    from: number,
    to: number,
    present: (i: number) => boolean,
  ): Uint8Array {
    let n = 0;
    for (let i = from; i < to; i++) {
      const v = present(i) ? (vector.getItem(i) as string) : '';
      if (n + 4 + v.length * 3 > this.text.length) {
        const bigger = new Uint8Array(Math.max(this.text.length * 2, n + 4 + v.length * 3));
        bigger.set(this.text.subarray(0, n));
        this.text = bigger;
        this.view = new DataView(bigger.buffer);
      }
      const written = encoder.encodeInto(v, this.text.subarray(n + 4)).written;
      this.view.setUint32(n, written);
      n += 4 + written;
    }
    return this.text.subarray(0, n);
  }
}

const encoder = new TextEncoder();

function vectorBytes(chunk: DuckDBDataChunk, index: number, bytes: number): Uint8Array {
  return duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk.chunk, index), bytes);
}
