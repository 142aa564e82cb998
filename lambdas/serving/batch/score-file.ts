import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  type DuckDBResult,
  type DuckDBType,
  VARCHAR,
} from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { Tensor } from 'onnxruntime-node';
import type { DuckDbEngine } from '../../features/offline/duckdb-engine';
import { assertUniqueColumns, fileFormat, readCsvHeader } from '../../features/offline/entity-rows';
import { literal, q } from '../../features/offline/render-sql';
import { InvalidParameterError, MlopsError } from '../../platform/errors';
import type { Column } from '../../training/data/dataset';
import { type Scored, scoreFeeds } from '../domain/predict';
import type { ServedModel } from '../domain/served-model';
import { buildFeeds, primaryOutput } from '../inference/score-onnx';
import type { ModelSignature, SignatureInput } from '../inference/signature';

/** Rows per model call unless told otherwise. */
export const DEFAULT_BATCH_SIZE = 10_000;
/** The column that names a row when the input has no key columns: its 0-based place in the input. */
export const ROW_NUMBER = 'row_number';
/** The primary value per row (P(y = 1), the regression or the score), as online predict returns it. */
export const PREDICTION = 'prediction';
/**
 * How the output is written. Parquet without dictionary pages: predictions are nearly all
 * distinct doubles, so DuckDB's dictionary attempt on every column was wasted work (writing
 * 1M rows of five columns took about 60% more CPU with it, and the files were 3% smaller).
 * Row groups stay DuckDB's default (122,880 rows), which its threads write in parallel.
 */
const COPY_OPTIONS = {
  parquet: 'FORMAT parquet, DICTIONARY_SIZE_LIMIT 0',
  csv: 'FORMAT csv, HEADER true',
} as const;
/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

/** A file to score: its SQL relation and its columns with their DuckDB types. */
export interface BatchInput {
  readonly path: string;
  readonly format: 'csv' | 'parquet';
  /** `read_parquet(...)` or `read_csv(...)`: CSV columns are read as text, so ids like 007 stay as written. */
  readonly relation: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: number;
}

/** Rows [offset, offset + limit) of the input, in input order: one shard of a distributed run. */
export interface RowRange {
  readonly offset: number;
  readonly limit: number;
}

/** Progress of a scoring run, after each batch. */
export interface BatchProgress {
  readonly rows: number;
  readonly total: number;
  readonly elapsedMs: number;
}

export interface ScoreFileOptions {
  /** CSV or Parquet file to score. */
  readonly input: string;
  /** Output file; `.csv` or `.parquet`. Written aside and renamed, so it appears whole or not at all. */
  readonly output: string;
  /** Rows per model call. @default 10,000 */
  readonly batchSize?: number;
  /**
   * Input columns written beside the predictions. @default every input column the model does
   * not take (ids, timestamps, labels); when there is none, `row_number`.
   */
  readonly keys?: readonly string[];
  /** Only these rows (a shard); row numbers stay the input's. @default every row */
  readonly range?: RowRange;
  readonly progress?: (p: BatchProgress) => void;
}

export interface ScoreFileResult {
  readonly output: string;
  readonly rows: number;
  /** Output columns, in order. */
  readonly columns: readonly string[];
  /** Model calls made: one per batch. */
  readonly batches: number;
}

/** Runs a DuckDB call, turning its error (a missing or malformed file, a bad value) into a 4xx. */
async function reading<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof MlopsError) throw err;
    // DuckDB's first lines say what and where; its "possible fixes" name its own options, not ours.
    const message = (err as Error).message
      .split('\n')
      .slice(0, 3)
      .join(' ')
      .replace(/^[A-Za-z ]*Error: /, '')
      .trim();
    throw new InvalidParameterError(`${what}: ${message}`);
  }
}

/**
 * Opens a CSV or Parquet file as a relation and reads its columns and row count. A CSV file
 * is parsed whole once here (DuckDB's count), so a malformed line is refused before any row
 * is scored; a Parquet file's count comes from its footer.
 *
 * @example
 * const input = await openInput(engine, 'rows.parquet');
 */
export async function openInput(engine: DuckDbEngine, path: string): Promise<BatchInput> {
  const format = fileFormat(path, 'input');
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new InvalidParameterError(`input file '${path}' does not exist`);
  const where = `cannot read input '${path}' as ${format === 'csv' ? 'CSV' : 'Parquet'}`;
  let relation = `read_parquet(${literal(path)})`;
  if (format === 'csv') {
    // The dialect and columns are fixed (RFC 4180, the header line's names, all text): DuckDB's
    // sniffer would otherwise take a malformed line for the header or a different delimiter.
    const header = await readCsvHeader(path);
    if (header.length === 0 || header.some((h) => h === ''))
      throw new InvalidParameterError(`${where}: the first line must name every column`);
    assertUniqueColumns(header, `input '${path}'`);
    const columns = header.map((h) => `${literal(h)}: 'VARCHAR'`).join(', ');
    relation =
      `read_csv(${literal(path)}, auto_detect = false, header = true, delim = ',', quote = '"', ` +
      `escape = '"', strict_mode = true, columns = {${columns}})`;
  }
  const described = await reading(where, () => engine.query(`DESCRIBE SELECT * FROM ${relation}`));
  const columns = described.map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
  const [count] = await reading(where, () => engine.query(`SELECT count(*) AS n FROM ${relation}`));
  return { path, format, relation, columns, rows: Number(count?.['n'] ?? 0) };
}

/** The key columns written beside the predictions: as given, or every column the model does not take. */
export function keyColumns(input: BatchInput, model: ServedModel, keys?: readonly string[]): string[] {
  const names = new Set(input.columns.map((c) => c.name));
  if (keys) {
    for (const k of keys) {
      if (!names.has(k))
        throw new InvalidParameterError(
          `key column '${k}' is not in input '${input.path}' (columns: ${[...names].join(', ')})`,
        );
    }
    return [...keys];
  }
  const features = new Set(model.signature.inputs.map((i) => i.name));
  return input.columns.map((c) => c.name).filter((n) => !features.has(n));
}

/** Refuses an input that lacks a feature the model takes, naming it, before anything is scored. */
export function checkFeatures(input: BatchInput, model: ServedModel): void {
  const names = new Set(input.columns.map((c) => c.name));
  const missing = model.signature.inputs.filter((i) => !names.has(i.name)).map((i) => i.name);
  if (missing.length > 0) {
    throw new InvalidParameterError(
      `input '${input.path}' lacks feature column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}, which model '${model.name}' version ${model.version} takes; add ${missing.length > 1 ? 'them' : 'it'}, or join features with --feature-service`,
    );
  }
}

const isText = (i: SignatureInput) => i.type === 'string' || i.type === 'categorical';

/** A batch read from the input: its row count and the model's feeds. */
interface ReadBatch {
  readonly rows: number;
  readonly feeds: Record<string, Tensor>;
}

/**
 * Whether the model takes one 2-D float or double tensor of numeric inputs: then the query
 * reads the features as one `DOUBLE[d]` array per row, built by DuckDB on its own threads
 * while the model runs, whose values are already the tensor's row-major layout: a chunk is
 * one copy on this thread, with no per-column arrays and no transpose.
 */
function packedInput(sig: ModelSignature): 'float' | 'double' | undefined {
  const t = sig.tensorInput?.elementType;
  if (t !== 'float' && t !== 'double') return undefined;
  return sig.inputs.every((i) => i.type === 'float' || i.type === 'double' || i.type === 'int64')
    ? t
    : undefined;
}

/** Reads the model's features from a streamed query in batches of `size` rows, as feeds. */
class BatchReader {
  private chunk: DuckDBDataChunk | null = null;
  private at = 0;
  private done = false;
  private readonly packed: 'float' | 'double' | undefined;

  constructor(
    private readonly result: DuckDBResult,
    private readonly sig: ModelSignature,
    private readonly size: number,
  ) {
    this.packed = packedInput(sig);
  }

  /**
   * Copies rows [from, to) of the current chunk's `DOUBLE[d]` column into `packed` from row
   * `n` (a float tensor's buffer converts on copy), a missing value as NaN.
   */
  private copyPacked(packed: Float32Array | Float64Array, n: number, from: number, to: number): void {
    const d = this.sig.inputs.length;
    const array = duckdb.data_chunk_get_vector((this.chunk as DuckDBDataChunk).chunk, 0);
    const child = duckdb.array_vector_get_child(array);
    const raw = duckdb.vector_get_data(child, to * d * 8);
    packed.set(new Float64Array(raw.buffer, raw.byteOffset + from * d * 8, (to - from) * d), n * d);
    const valid = duckdb.vector_get_validity(child, Math.ceil((to * d) / 64) * 8);
    if (!valid) return;
    const shift = n * d - from * d;
    for (let k = from * d; k < to * d; k++) {
      // A byte of eight valid values is skipped at once.
      if ((k & 7) === 0 && k + 8 <= to * d && valid[k >> 3] === 255) k += 7;
      else if (((valid[k >> 3] as number) & (1 << (k & 7))) === 0) packed[k + shift] = Number.NaN;
    }
  }

  /** The next batch of feeds, or undefined at the end. */
  async next(): Promise<ReadBatch | undefined> {
    const inputs = this.sig.inputs;
    const d = inputs.length;
    const packed = this.packed
      ? this.packed === 'float'
        ? new Float32Array(this.size * d)
        : new Float64Array(this.size * d)
      : undefined;
    const numeric = inputs.map((i) => (packed || isText(i) ? undefined : new Float64Array(this.size)));
    const text = inputs.map((i) => (isText(i) ? new Array<string | null>(this.size) : undefined));
    let n = 0;
    while (n < this.size && !this.done) {
      if (!this.chunk || this.at >= this.chunk.rowCount) {
        this.chunk = await this.result.fetchChunk();
        this.at = 0;
        if (!this.chunk || this.chunk.rowCount === 0) {
          this.done = true;
          break;
        }
      }
      const take = Math.min(this.size - n, this.chunk.rowCount - this.at);
      const end = this.at + take;
      if (packed) this.copyPacked(packed, n, this.at, end);
      else this.copyColumns(numeric, text, n, this.at, end);
      this.at += take;
      n += take;
    }
    if (n === 0) return undefined;
    if (packed) return { rows: n, feeds: this.packedFeeds(packed, n) };
    const columns = new Map<string, Column>();
    inputs.forEach((input, j) => {
      const nums = numeric[j];
      columns.set(
        input.name,
        nums ? (n < this.size ? nums.subarray(0, n) : nums) : (text[j] as (string | null)[]).slice(0, n),
      );
    });
    return { rows: n, feeds: buildFeeds(this.sig, { rowCount: n, columns }) };
  }

  /** Copies rows [from, to) of the current chunk's columns into the batch's columns from row `n`. */
  private copyColumns(
    numeric: readonly (Float64Array | undefined)[],
    text: readonly ((string | null)[] | undefined)[],
    n: number,
    from: number,
    to: number,
  ): void {
    const chunk = this.chunk as DuckDBDataChunk;
    for (let j = 0; j < this.sig.inputs.length; j++) {
      const strs = text[j];
      if (strs) {
        const vector = chunk.getColumnVector(j);
        for (let i = from; i < to; i++) strs[n + i - from] = vector.getItem(i) as string | null;
        continue;
      }
      // DOUBLE (the query casts every numeric feature): read in place, NULLs as NaN.
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, j);
      const raw = duckdb.vector_get_data(vector, to * 8);
      const nums = numeric[j] as Float64Array;
      nums.set(new Float64Array(raw.buffer, raw.byteOffset + from * 8, to - from), n);
      const valid = duckdb.vector_get_validity(vector, Math.ceil(to / 64) * 8);
      if (!valid) continue;
      for (let i = from; i < to; i++)
        if (((valid[i >> 3] as number) & (1 << (i & 7))) === 0) nums[n + i - from] = Number.NaN;
    }
  }

  /**
   * The tensor of a packed batch. A missing value in an input the signature does not declare
   * nullable is refused by `buildFeeds`, given that batch's columns, so the message is the
   * online path's.
   */
  private packedFeeds(packed: Float32Array | Float64Array, n: number): Record<string, Tensor> {
    const inputs = this.sig.inputs;
    const d = inputs.length;
    const values = packed.subarray(0, n * d);
    const refused = inputs.map((i) => !i.nullable);
    if (refused.some(Boolean)) {
      // One pass in memory order, not one strided pass per column.
      for (let k = 0; k < values.length; k++) {
        const v = values[k] as number;
        // biome-ignore lint/suspicious/noSelfCompare: the cheapest NaN test in the hot loop
        if (v === v || !refused[k % d]) continue;
        const columns = new Map<string, Column>(
          inputs.map((input, c) => [
            input.name,
            Float64Array.from({ length: n }, (_, i) => values[i * d + c] as number),
          ]),
        );
        buildFeeds(this.sig, { rowCount: n, columns });
        break;
      }
    }
    const name = (this.sig.tensorInput as { name: string }).name;
    return { [name]: new Tensor(this.packed === 'float' ? 'float32' : 'float64', values, [n, d]) };
  }
}

/** A batch's values of one output column. */
type OutputValues = Float64Array | BigInt64Array | (string | boolean | null)[];

/** One output column: its DuckDB type and how to take its values out of a scored batch. */
interface OutputColumn {
  readonly name: string;
  readonly type: DuckDBType;
  readonly sql: string;
  readonly values: (scored: ScoredBatch, rows: number) => OutputValues;
  /** Written from this other column, which holds the same values, instead of being stored twice. */
  readonly sameAs?: string;
}

interface ScoredBatch {
  readonly first: number;
  readonly predictions: Float64Array;
  readonly outputs: Readonly<Record<string, Tensor>>;
}

/** Column k of a `[rows, width]` tensor's data as the column's type. */
function outputValues(
  data: ArrayLike<unknown>,
  rows: number,
  width: number,
  k: number,
  type: DuckDBType,
): OutputValues {
  if (type === DOUBLE) {
    const out = new Float64Array(rows);
    if (data instanceof Float32Array || data instanceof Float64Array) {
      for (let i = 0, at = k; i < rows; i++, at += width) out[i] = data[at] as number;
    } else for (let i = 0; i < rows; i++) out[i] = Number(data[i * width + k]);
    return out;
  }
  if (type === BIGINT) {
    const out = new BigInt64Array(rows);
    // int64 outputs (labels) arrive as a BigInt64Array: copied without a BigInt per value.
    if (data instanceof BigInt64Array) {
      for (let i = 0, at = k; i < rows; i++, at += width) out[i] = data[at] as bigint;
    } else for (let i = 0; i < rows; i++) out[i] = BigInt(data[i * width + k] as number | bigint);
    return out;
  }
  return Array.from({ length: rows }, (_, i) => (data[i * width + k] ?? null) as string | boolean | null);
}

/** The prediction columns, shaped by the first batch's tensors: `[N]`/`[N, 1]` one column, `[N, K]` K columns `name_k`. */
function outputColumns(
  model: ServedModel,
  first: ScoredBatch,
  rows: number,
  keys: readonly string[],
): OutputColumn[] {
  const cols: OutputColumn[] = [];
  if (keys.length === 0)
    cols.push({
      name: ROW_NUMBER,
      type: BIGINT,
      sql: 'BIGINT',
      values: (s, n) => BigInt64Array.from({ length: n }, (_, i) => BigInt(s.first + i)),
    });
  const prediction: { -readonly [K in keyof OutputColumn]: OutputColumn[K] } = {
    name: PREDICTION,
    type: DOUBLE,
    sql: 'DOUBLE',
    values: (s) => s.predictions,
  };
  cols.push(prediction);
  const primary = primaryOutput(model.signature).name;
  for (const o of model.signature.outputs) {
    const t = first.outputs[o.name];
    if (!t) continue;
    const width = rows > 0 ? t.data.length / rows : 1;
    const [type, sql] =
      t.type === 'string'
        ? [VARCHAR, 'VARCHAR']
        : t.type === 'bool'
          ? [BOOLEAN, 'BOOLEAN']
          : t.type === 'int64' || t.type === 'int32' || t.type === 'int8' || t.type === 'uint8'
            ? [BIGINT, 'BIGINT']
            : [DOUBLE, 'DOUBLE'];
    for (let k = 0; k < width; k++) {
      const base = width === 1 ? o.name : `${o.name}_${k}`;
      // The regression output is the prediction itself: not written twice.
      if (base === PREDICTION) continue;
      // A key of that name (entity rows' own `label`) keeps it; the model's is `<name>_output`.
      const name = keys.includes(base) ? `${base}_output` : base;
      // The prediction is the primary output's last column (P(y = 1) of `[N, 2]`): the
      // predictions table keeps it once, a quarter less to append for a binary classifier.
      if (o.name === primary && k === width - 1 && type === DOUBLE) prediction.sameAs = name;
      cols.push({
        name,
        type,
        sql,
        values: (s, n) =>
          outputValues((s.outputs[o.name]?.data ?? []) as ArrayLike<unknown>, n, width, k, type),
      });
    }
  }
  return cols;
}

/**
 * Appends scored batches to a table on its own connection (the reading connection has a
 * streaming query open). A few numbers a row; DuckDB holds them and spills them to its
 * temporary directory past its memory limit.
 */
class PredictionTable {
  private appender: DuckDBAppender | undefined;
  /** One chunk refilled for every append: creating a chunk (its types, its vectors) cost more than the copy into it. */
  private chunk: DuckDBDataChunk | undefined;
  readonly table = `__batch_pred_${randomUUID().slice(0, 8)}`;

  /** The columns kept in the table: all but those written from another. */
  private readonly stored: readonly OutputColumn[];

  constructor(
    private readonly connection: DuckDBConnection,
    columns: readonly OutputColumn[],
  ) {
    this.stored = columns.filter((c) => !c.sameAs);
  }

  /** The output's prediction columns, in order, as a select list over the table aliased `alias`. */
  selectList(columns: readonly OutputColumn[], alias: string): string {
    return columns
      .map((c) => (c.sameAs ? `${alias}.${q(c.sameAs)} AS ${q(c.name)}` : `${alias}.${q(c.name)}`))
      .join(', ');
  }

  async open(): Promise<void> {
    const defs = this.stored.map((c) => `${q(c.name)} ${c.sql}`).join(', ');
    await this.connection.run(`CREATE TEMP TABLE ${q(this.table)} (${defs})`);
    this.appender = await this.connection.createAppender(this.table);
  }

  async append(s: ScoredBatch, rows: number): Promise<void> {
    const appender = this.appender as DuckDBAppender;
    const values = this.stored.map((c) => c.values(s, rows));
    this.chunk ??= DuckDBDataChunk.create(
      this.stored.map((c) => c.type),
      CHUNK_ROWS,
    );
    const chunk = this.chunk;
    for (let from = 0; from < rows; from += CHUNK_ROWS) {
      const len = Math.min(CHUNK_ROWS, rows - from);
      // The appender copies the chunk, so it is refilled for the next rows.
      chunk.reset();
      chunk.rowCount = len;
      values.forEach((v, j) => {
        if (v instanceof Float64Array || v instanceof BigInt64Array) {
          // Fixed-width values: one copy into the chunk's vector (no NULLs among them).
          const vector = duckdb.data_chunk_get_vector(chunk.chunk, j);
          duckdb.copy_data_to_vector(vector, 0, v.buffer as ArrayBuffer, v.byteOffset + from * 8, len * 8);
        } else {
          const vector = chunk.getColumnVector(j);
          for (let i = 0; i < len; i++) vector.setItem(i, v[from + i] as never);
          vector.flush();
        }
      });
      appender.appendDataChunk(chunk);
    }
  }

  /** Writes the appended rows into the table. */
  finish(): void {
    this.appender?.closeSync();
    this.appender = undefined;
  }

  async close(): Promise<void> {
    this.appender?.closeSync();
    this.appender = undefined;
    await this.connection.run(`DROP TABLE IF EXISTS ${q(this.table)}`);
  }
}

/**
 * Scores a CSV or Parquet file with a loaded model, in batches (one model call per batch of
 * `batchSize` rows), streaming: the input is read a batch at a time while the model scores
 * the previous one (with a scorer on worker threads, `parallelism` batches at once, answers
 * taken in input order); predictions (a few numbers a row) go to a DuckDB table, which spills to
 * disk past DuckDB's memory limit, so memory holds a few batches of features whatever the
 * file's size. The output has the key columns (or `row_number`),
 * `prediction` (the value online predict returns) and every signature output (a `[N, K]`
 * output as K columns `name_k`), in input order, as CSV or Parquet by its extension. It is
 * written to a temporary name and renamed at the end: a failure leaves no output.
 *
 * @example
 * const r = await scoreFile(engine, model, { input: 'rows.parquet', output: 'scores.csv' });
 */
export async function scoreFile(
  engine: DuckDbEngine,
  model: ServedModel,
  o: ScoreFileOptions,
): Promise<ScoreFileResult> {
  const started = performance.now();
  const format = fileFormat(o.output, 'output');
  const size = o.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > 1_000_000)
    throw new InvalidParameterError(`batch size must be a whole number from 1 to 1,000,000, got ${size}`);
  const input = await openInput(engine, o.input);
  checkFeatures(input, model);
  const keys = keyColumns(input, model, o.keys);
  const range = o.range;
  const window = range ? ` LIMIT ${range.limit} OFFSET ${range.offset}` : '';
  const total = range ? Math.max(0, Math.min(range.limit, input.rows - range.offset)) : input.rows;
  if (total === 0) throw new InvalidParameterError(`input '${o.input}' has no rows to score`);

  const inputs = model.signature.inputs;
  // A list cast to an array: DuckDB's array_value() built the same rows at three times the CPU.
  const select = packedInput(model.signature)
    ? `[${inputs.map((i) => `CAST(${q(i.name)} AS DOUBLE)`).join(', ')}]::DOUBLE[${inputs.length}] AS "features"`
    : inputs.map((i, j) => `CAST(${q(i.name)} AS ${isText(i) ? 'VARCHAR' : 'DOUBLE'}) AS "c${j}"`).join(', ');
  const tmp = `${o.output}.tmp-${randomUUID()}`;
  const writerConnection = await engine.connect();
  let writer: PredictionTable | undefined;
  try {
    // DuckDB fills a buffer of the streamed rows ahead of the reader on its own threads: a
    // larger one (a few batches) keeps it reading while the model runs on this thread.
    await engine.run(
      `SET streaming_buffer_size = '${Math.max(1, Math.ceil((size * inputs.length * 8 * 4) / 1048576))}MB'`,
    );
    const result = await reading(`cannot read input '${o.input}'`, () =>
      engine.connection.stream(`SELECT ${select} FROM ${input.relation}${window}`),
    );
    const reader = new BatchReader(result, model.signature, size);
    const read = () => reading(`cannot read input '${o.input}'`, () => reader.next());
    // A scorer on worker threads takes several batches at once: this thread keeps one more
    // in flight than it has workers, so a worker finds its next batch queued while this
    // thread reads ahead and appends the answered ones, strictly in input order. A session
    // on this thread holds it while it runs: one at a time.
    const workers = model.scorer.parallelism ?? 1;
    const ahead = workers > 1 ? workers + 1 : 1;
    const inFlight: { rows: number; scored: Promise<Scored> }[] = [];
    let columns: OutputColumn[] | undefined;
    let rows = 0;
    let batches = 0;
    let next = read();
    let ended = false;
    for (;;) {
      while (!ended && inFlight.length < ahead) {
        const batch = await next;
        if (!batch) {
          ended = true;
          break;
        }
        // Read the next batch while the model scores this one.
        next = read();
        next.catch(() => undefined);
        const scored = scoreFeeds(model, batch.feeds, batch.rows);
        // Awaited in order below; a later batch's failure must not go unhandled meanwhile.
        scored.catch(() => undefined);
        inFlight.push({ rows: batch.rows, scored });
      }
      const head = inFlight.shift();
      if (!head) break;
      const s: ScoredBatch = { first: (range?.offset ?? 0) + rows, ...(await head.scored) };
      if (!columns) {
        columns = outputColumns(model, s, head.rows, keys);
        const clash = columns.find((c) => keys.includes(c.name));
        if (clash)
          throw new InvalidParameterError(
            `key column '${clash.name}' has the name of an output column; rename it or choose keys without it`,
          );
        writer = new PredictionTable(writerConnection.connection, columns);
        await writer.open();
      }
      await (writer as PredictionTable).append(s, head.rows);
      rows += head.rows;
      batches += 1;
      o.progress?.({ rows, total, elapsedMs: performance.now() - started });
    }
    const w = writer as PredictionTable;
    w.finish();
    // Keys read again from the input, side by side with the predictions, in input order.
    const sql = keys.length
      ? `SELECT k.*, ${w.selectList(columns as OutputColumn[], 'p')} FROM (SELECT ${keys.map(q).join(', ')} FROM ${input.relation}${window}) k POSITIONAL JOIN ${q(w.table)} p`
      : `SELECT ${w.selectList(columns as OutputColumn[], 'p')} FROM ${q(w.table)} p`;
    await mkdir(dirname(o.output), { recursive: true });
    // On the writing connection: the table is its own (TEMP).
    await reading(`cannot write '${o.output}'`, () =>
      writerConnection.run(`COPY (${sql}) TO ${literal(tmp)} (${COPY_OPTIONS[format]})`),
    );
    await rename(tmp, o.output);
    return {
      output: o.output,
      rows,
      columns: [...keys, ...(columns as OutputColumn[]).map((c) => c.name)],
      batches,
    };
  } finally {
    await writer?.close().catch(() => undefined);
    writerConnection.close();
    await rm(tmp, { force: true });
  }
}
