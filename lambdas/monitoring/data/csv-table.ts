import { existsSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import type { ColumnBatch, ColumnProfile, ColumnType, TableReader } from '../drift/run-drift';

/** Text read as missing, besides an empty field. */
export const MISSING_TOKENS = ['', 'NA', 'N/A', 'null', 'NULL'] as const;

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const sqlIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

/**
 * A CSV (or .csv.gz/.tsv) file read through DuckDB, every field as text so this module, not
 * DuckDB's sniffer, decides what is a number. Scans stream in DuckDB's chunks (2,048 rows),
 * so a file of any size is read in bounded memory.
 *
 * @example
 * const { report } = await computeDrift(csvTable('baseline.csv'), csvTable('current.csv'));
 */
export function csvTable(path: string): TableReader {
  const lower = path.toLowerCase();
  if (!(lower.endsWith('.csv') || lower.endsWith('.csv.gz') || lower.endsWith('.tsv'))) {
    throw new InvalidParameterError(`'${path}' must be a .csv, .csv.gz or .tsv file`);
  }
  const source = `read_csv(${sqlString(path)}, header = true, all_varchar = true, nullstr = [${MISSING_TOKENS.map(sqlString).join(', ')}])`;

  async function withConnection<T>(
    fn: (conn: Awaited<ReturnType<DuckDBInstance['connect']>>) => Promise<T>,
  ): Promise<T> {
    if (!existsSync(path)) throw new NotFoundError(`File '${path}' does not exist`);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      return await fn(conn);
    } catch (err) {
      if (err instanceof InvalidParameterError || err instanceof NotFoundError) throw err;
      throw new InvalidParameterError(`Could not read '${path}': ${(err as Error).message}`);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  }

  return {
    label: path,
    describe: () =>
      withConnection(async (conn) => {
        const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
        const names = (described.getRowObjectsJS() as { column_name: string }[]).map((r) => r.column_name);
        const bad = (c: string) =>
          `${sqlIdent(c)} IS NOT NULL AND TRY_CAST(${sqlIdent(c)} AS DOUBLE) IS NULL`;
        const selects = names.flatMap((c) => [
          `count(${sqlIdent(c)})`,
          `count(*) FILTER (WHERE ${bad(c)})`,
          `any_value(${sqlIdent(c)}) FILTER (WHERE ${bad(c)})`,
        ]);
        const r = await conn.runAndReadAll(`SELECT count(*), ${selects.join(', ')} FROM ${source}`);
        const row = r.getRowsJS()[0]!;
        const columns = new Map<string, ColumnProfile>();
        names.forEach((c, i) => {
          const example = row[3 + 3 * i];
          columns.set(c, {
            present: Number(row[1 + 3 * i]),
            nonNumeric: Number(row[2 + 3 * i]),
            ...(example === null || example === undefined ? {} : { example: String(example) }),
          });
        });
        return { rows: Number(row[0]), columns };
      }),
    scan: (types: ReadonlyMap<string, ColumnType>, onBatch: (batch: ColumnBatch) => void) =>
      withConnection(async (conn) => {
        const names = [...types.keys()];
        const selects = names.map((c) =>
          types.get(c) === 'numeric' ? `TRY_CAST(${sqlIdent(c)} AS DOUBLE)` : sqlIdent(c),
        );
        const result = await conn.stream(`SELECT ${selects.join(', ')} FROM ${source}`);
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          const rows = chunk.rowCount;
          const batch = new Map<string, Float64Array | (string | null)[]>();
          names.forEach((name, i) => {
            const vector = chunk.getColumnVector(i);
            if (types.get(name) === 'numeric') {
              const out = new Float64Array(rows);
              for (let r = 0; r < rows; r++) out[r] = (vector.getItem(r) as number | null) ?? Number.NaN;
              batch.set(name, out);
            } else {
              const out = new Array<string | null>(rows);
              for (let r = 0; r < rows; r++) out[r] = vector.getItem(r) as string | null;
              batch.set(name, out);
            }
          });
          onBatch(batch);
        }
      }),
  };
}
