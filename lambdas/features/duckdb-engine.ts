import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { SqlEngine, SqlRow } from './sql-engine';

/**
 * In-process DuckDB behind the SQL-engine port. Sessions run in UTC so TIMESTAMPTZ values
 * print and truncate to dates the same on every machine.
 *
 * @example
 * const engine = await DuckDbEngine.create();
 * const rows = await engine.query('SELECT 1 AS x');
 * engine.close();
 */
export class DuckDbEngine implements SqlEngine {
  readonly dialect = 'duckdb' as const;
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly ownsInstance = true,
  ) {}

  /** Opens an in-memory database; `threads` defaults to DuckDB's own choice (all cores). */
  static async create(options: { threads?: number; memoryLimit?: string } = {}): Promise<DuckDbEngine> {
    const config: Record<string, string> = {};
    if (options.threads) config['threads'] = String(options.threads);
    if (options.memoryLimit) config['memory_limit'] = options.memoryLimit;
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    // Set after connecting: the ICU extension that owns TimeZone loads on first use.
    await connection.run("SET TimeZone = 'UTC'");
    return new DuckDbEngine(instance, connection);
  }

  /**
   * A second connection to the same database, to run a query alongside this one (e.g. hash
   * a table while another writes it out). It sees regular tables, not this one's TEMP
   * tables; closing it leaves the database open.
   */
  async connect(): Promise<DuckDbEngine> {
    const connection = await this.instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    return new DuckDbEngine(this.instance, connection, false);
  }

  async run(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  async query(sql: string): Promise<SqlRow[]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRowObjectsJS() as SqlRow[];
  }

  async write(sql: string, uri: string, format: 'parquet' | 'csv'): Promise<void> {
    const opts = format === 'parquet' ? 'FORMAT parquet' : 'FORMAT csv, HEADER true';
    await this.connection.run(`COPY (${sql}) TO ${literal(uri)} (${opts})`);
  }

  /** Closes the connection, and the database unless this is a `connect()` sibling. */
  close(): void {
    this.connection.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }
}

/** A SQL string literal. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
