import { existsSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import type { Column, Dataset } from './dataset';

const NUMERIC_TYPES =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/;
const TIME_TYPES = /^(DATE|TIMESTAMP.*|TIME)$/;

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function sqlIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/**
 * Reads a CSV or Parquet file into typed columns with DuckDB. Numeric columns become
 * Float64Array, dates and timestamps become epoch milliseconds (so a time-based split can
 * sort them), booleans and text become strings.
 *
 * @example
 * const ds = await readTable('data/churn.parquet');
 */
export async function readTable(path: string): Promise<Dataset> {
  const lower = path.toLowerCase();
  const reader = lower.endsWith('.parquet')
    ? `read_parquet(${sqlString(path)})`
    : lower.endsWith('.csv') || lower.endsWith('.csv.gz') || lower.endsWith('.tsv')
      ? `read_csv(${sqlString(path)}, header = true)`
      : undefined;
  if (!reader) {
    throw new InvalidParameterError(`Training set '${path}' must be a .csv, .csv.gz, .tsv or .parquet file`);
  }
  if (!/^[a-z0-9]+:\/\//i.test(path) && !existsSync(path)) {
    throw new NotFoundError(`Training set '${path}' does not exist`);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${reader}`);
    const schema = described.getRowObjectsJS() as { column_name: string; column_type: string }[];
    const selects = schema.map(({ column_name: name, column_type: type }) => {
      const id = sqlIdent(name);
      if (NUMERIC_TYPES.test(type)) return `CAST(${id} AS DOUBLE) AS ${id}`;
      if (TIME_TYPES.test(type)) return `CAST(epoch_ms(CAST(${id} AS TIMESTAMP)) AS DOUBLE) AS ${id}`;
      return `CAST(${id} AS VARCHAR) AS ${id}`;
    });
    const result = await conn.runAndReadAll(`SELECT ${selects.join(', ')} FROM ${reader}`);
    const values = result.getColumnsJS();
    const columns = new Map<string, Column>();
    schema.forEach(({ column_name: name, column_type: type }, i) => {
      const raw = values[i] ?? [];
      if (NUMERIC_TYPES.test(type) || TIME_TYPES.test(type)) {
        const col = new Float64Array(raw.length);
        for (let r = 0; r < raw.length; r++) {
          const v = raw[r];
          col[r] = v === null || v === undefined ? Number.NaN : Number(v);
        }
        columns.set(name, col);
      } else {
        columns.set(
          name,
          raw.map((v) => (v === null || v === undefined ? null : String(v))),
        );
      }
    });
    return { rowCount: result.currentRowCount, columns };
  } catch (err) {
    if (err instanceof InvalidParameterError) throw err;
    throw new InvalidParameterError(`Could not read training set '${path}': ${(err as Error).message}`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
