import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { literal } from './render-sql';
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

  /**
   * Opens an in-memory database; `threads` defaults to DuckDB's own choice (all cores). In a
   * Lambda function (or when configured by environment) the spill folder and memory limit
   * come from {@link runtimeSettings}; options given here win.
   */
  static async create(
    options: DuckDbOptions = {},
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<DuckDbEngine> {
    const config: Record<string, string> = { ...runtimeSettings(env) };
    if (options.threads) config['threads'] = String(options.threads);
    if (options.memoryLimit) config['memory_limit'] = options.memoryLimit;
    if (options.tempDirectory) config['temp_directory'] = options.tempDirectory;
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

export interface DuckDbOptions {
  readonly threads?: number;
  /** DuckDB's `memory_limit`, e.g. '1536MiB'. */
  readonly memoryLimit?: string;
  /** Where DuckDB spills what does not fit in memory. */
  readonly tempDirectory?: string;
}

/**
 * DuckDB settings for where the engine runs. In Lambda (AWS_LAMBDA_FUNCTION_MEMORY_SIZE is
 * set) the spill folder moves to `/tmp` (DuckDB's default, `.tmp` under the working
 * directory, is on the read-only `/var/task`), and the memory limit leaves Node and the
 * handler a quarter of the function's memory (at least 256 MiB) instead of DuckDB's 80% of
 * the host's. MLOPS_DUCKDB_TEMP_DIRECTORY and MLOPS_DUCKDB_MEMORY_LIMIT set either anywhere.
 * Elsewhere, without them, DuckDB keeps its defaults.
 *
 * @example
 * runtimeSettings({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048' });
 * // { temp_directory: '/tmp/duckdb', memory_limit: '1536MiB' }
 */
export function runtimeSettings(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  const memory = Number(env['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']);
  if (Number.isFinite(memory) && memory > 0) {
    out['temp_directory'] = join(tmpdir(), 'duckdb');
    const headroom = Math.max(256, Math.ceil(memory / 4));
    out['memory_limit'] = `${Math.max(128, Math.floor(memory - headroom))}MiB`;
  }
  if (env['MLOPS_DUCKDB_TEMP_DIRECTORY']) out['temp_directory'] = env['MLOPS_DUCKDB_TEMP_DIRECTORY'];
  if (env['MLOPS_DUCKDB_MEMORY_LIMIT']) out['memory_limit'] = env['MLOPS_DUCKDB_MEMORY_LIMIT'];
  return out;
}
