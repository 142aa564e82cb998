import type { Dialect } from './render-sql';

/** A row as an engine returns it: column name to a JS value. */
export type SqlRow = Record<string, unknown>;

/**
 * The SQL-engine port: what the feature store needs of DuckDB (local) or Athena (AWS).
 * Adapters: `DuckDbEngine` (in-process) and `AthenaEngine` (StartQueryExecution + UNLOAD).
 */
export interface SqlEngine {
  readonly dialect: Dialect;
  /** Runs a statement for its effect. */
  run(sql: string): Promise<void>;
  /** Runs a query and returns its rows. Meant for small results (checks, digests). */
  query(sql: string): Promise<SqlRow[]>;
  /** Writes a query's rows, in the query's order, to `uri` as Parquet or CSV. */
  write(sql: string, uri: string, format: 'parquet' | 'csv'): Promise<void>;
}
