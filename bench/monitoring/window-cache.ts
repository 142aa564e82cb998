import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { batchKey, utcDate } from '../../lambdas/monitoring/log/log-store';

/** Rows per stored file, about what one CloudWatch Logs delivery (≤ 1 MB of lines) carries. */
export const ROWS_PER_FILE = 5000;
/** Rows DuckDB writes per COPY: 20 files, about 60 MB of text. */
const ROWS_PER_CHUNK = 100_000;
/** Bump when the generated rows change, so an old cache is not reused. */
const FORMAT = 3;

/** xorshift32 uniforms → approximately normal (sum of 4): the benches' baseline samples. */
export function generator(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return () => (next() + next() + next() + next() - 2) * 1.7320508;
}

export interface CachedWindow {
  /** The FsObjectStore root holding the `monitoring` bucket. */
  readonly root: string;
  /** The instant the window ends at: pass it as the job's `now`. */
  readonly now: number;
  readonly rows: number;
  /** Whether this run wrote it (false: reused from an earlier run). */
  readonly generated: boolean;
  /** Wall and CPU seconds the generation took (0 when reused). */
  readonly seconds: number;
  readonly cpuSeconds: number;
}

/**
 * The SELECT of rows [start, end) of the window, one stored line each: the shipper's fields
 * (`storedRows`), `features` inputs ≈ N(shift·j, 1) rounded to 6 decimals and a prediction in
 * (0, 1). Uniforms come from DuckDB's `hash(row, stream)`, so the rows do not depend on the
 * thread count or the chunking; 100 rows share a request id and a timestamp.
 */
function windowSql(
  o: { model: string; features: number; shift: number; now: number },
  start: number,
  end: number,
) {
  const uniform = (k: number) => `(hash(i, ${k}) >> 11)::DOUBLE / 9007199254740992.0`;
  const normal = (stream: number) =>
    `((${[0, 1, 2, 3].map((q) => uniform(stream * 4 + q)).join(' + ')}) - 2) * 1.7320508`;
  const inputs = Array.from(
    { length: o.features },
    (_, j) => `'f${j}': round(${normal(j)} + ${o.shift * j}, 6)`,
  ).join(', ');
  const ts = `(${o.now - 1_800_000} + ((i - i % 100) % 1000000))`;
  return `SELECT 'r' || (i - i % 100) AS request_id, '${o.model}' AS model, '1' AS version,
      '1' AS variant, 'v1' AS api, ${ts} AS ts,
      strftime(make_timestamp(${ts} * 1000), '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS timestamp,
      200 AS status, 1 AS latency_ms, (i % 100)::INTEGER AS "row", {${inputs}} AS inputs,
      1 / (1 + exp(-${normal(o.features)})) AS prediction
    FROM range(${start}, ${end}) t(i)`;
}

/**
 * A stored prediction-log window of `rows` rows × `features` numeric features of one model
 * version, in the shipper's layout (`predictions/model=<m>/date=<d>/<batch>.json.gz`, 5,000
 * rows per file, the NDJSON fields `storedRows` writes), kept in a cache under the OS temp
 * folder and reused by later runs. DuckDB writes the lines (`range()` and hashed uniforms, about
 * 6 µs of CPU a row of 20 features) in chunks of 100,000 rows while this thread gzips the
 * previous chunk's files at level 1 (DuckDB's own gzip costs six times the CPU): the files read
 * back exactly as the shipper's do, and 10,000,000 rows take a few minutes of CPU instead of
 * the 8 the JS generator took (over an hour through `writeBatch`).
 *
 * @example
 * const w = await cachedWindow({ model: 'bench-model', rows: 1_000_000, features: 20, shift: 0.01 });
 * const store = new FsObjectStore(w.root);
 */
export async function cachedWindow(o: {
  readonly model: string;
  readonly rows: number;
  readonly features: number;
  readonly shift: number;
  readonly progress?: (message: string) => void;
}): Promise<CachedWindow> {
  const dir = join(
    tmpdir(),
    'mlops-bench-cache',
    `drift-window-v${FORMAT}-${o.model}-${o.rows}x${o.features}-${o.shift}`,
  );
  const meta = join(dir, 'complete.json');
  if (existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { now: number };
    return {
      root: join(dir, 'store'),
      now: m.now,
      rows: o.rows,
      generated: false,
      seconds: 0,
      cpuSeconds: 0,
    };
  }
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The window is the last 30 minutes before `now`, all on `now`'s date and within its 24 hours.
  const now = Date.parse(`${utcDate(Date.now())}T12:00:00Z`);
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await db.connect();
  const chunkFile = (c: number) => join(dir, `chunk-${c % 2}.json`);
  const copy = (c: number) => {
    const start = c * ROWS_PER_CHUNK;
    const sql = windowSql({ ...o, now }, start, Math.min(o.rows, start + ROWS_PER_CHUNK));
    return con.run(`COPY (${sql}) TO '${chunkFile(c)}' (FORMAT JSON)`);
  };
  const chunks = Math.ceil(o.rows / ROWS_PER_CHUNK);
  let batch = 0;
  try {
    let pending = copy(0);
    for (let c = 0; c < chunks; c++) {
      await pending;
      // DuckDB writes the next chunk on its thread while this one is split and gzipped.
      if (c + 1 < chunks) pending = copy(c + 1);
      const text = readFileSync(chunkFile(c));
      let start = 0;
      while (start < text.length) {
        let end = start;
        for (let r = 0; r < ROWS_PER_FILE && end < text.length; r++)
          end = text.indexOf(10, end) + 1 || text.length;
        const key = batchKey(o.model, utcDate(now), `b${String(batch++).padStart(8, '0')}`);
        const file = join(dir, 'store', 'monitoring', key);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(`${file}.tmp`, gzipSync(text.subarray(start, end), { level: 1 }));
        renameSync(`${file}.tmp`, file);
        start = end;
      }
      if ((c + 1) % 10 === 0)
        o.progress?.(`generated ${Math.min(o.rows, (c + 1) * ROWS_PER_CHUNK)} of ${o.rows} rows`);
    }
  } finally {
    con.closeSync();
    db.closeSync();
  }
  for (const c of [0, 1]) rmSync(chunkFile(c), { force: true });
  writeFileSync(meta, JSON.stringify({ now, rows: o.rows, features: o.features }));
  const cpu = process.cpuUsage(c0);
  return {
    root: join(dir, 'store'),
    now,
    rows: o.rows,
    generated: true,
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}
