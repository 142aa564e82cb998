import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { BadRequestError, TemporarilyUnavailableError } from '../../platform/errors';
import type { SqlEngine, SqlRow } from '../offline/sql-engine';

/** Where Athena runs: the workgroup enforces the results bucket, encryption and scan limit. */
export interface AthenaEngineOptions {
  readonly client: AthenaClient;
  readonly workGroup: string;
  readonly database: string;
  /** Milliseconds between status polls. @default 500 */
  readonly pollMs?: number;
}

/**
 * Athena (Trino) behind the SQL-engine port. `write` uses UNLOAD, which writes the query's
 * rows to S3 as Parquet or CSV. Not exercised locally: the same plan is tested by running
 * the Athena-dialect SQL on DuckDB.
 *
 * @example
 * const engine = new AthenaEngine({ client: new AthenaClient({}), workGroup: 'features-prod', database: 'features_prod' });
 */
export class AthenaEngine implements SqlEngine {
  readonly dialect = 'athena' as const;
  constructor(private readonly options: AthenaEngineOptions) {}

  async run(sql: string): Promise<void> {
    await this.execute(sql);
  }

  async query(sql: string): Promise<SqlRow[]> {
    const id = await this.execute(sql);
    const rows: SqlRow[] = [];
    let names: string[] | undefined;
    let token: string | undefined;
    do {
      const page = await this.options.client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }),
      );
      names ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Name ?? '') ?? [];
      const data = page.ResultSet?.Rows ?? [];
      // The first row of the first page repeats the column names.
      for (const [i, r] of data.entries()) {
        if (token === undefined && i === 0) continue;
        rows.push(Object.fromEntries(names.map((n, j) => [n, r.Data?.[j]?.VarCharValue ?? null])));
      }
      token = page.NextToken;
    } while (token);
    return rows;
  }

  async write(sql: string, uri: string, format: 'parquet' | 'csv'): Promise<void> {
    const fmt = format === 'parquet' ? "format = 'PARQUET'" : "format = 'TEXTFILE', field_delimiter = ','";
    await this.execute(`UNLOAD (${sql}) TO '${uri.replaceAll("'", "''")}' WITH (${fmt})`);
  }

  private async execute(sql: string): Promise<string> {
    const { client, workGroup, database } = this.options;
    const started = await client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: workGroup,
        QueryExecutionContext: { Database: database },
      }),
    );
    const id = started.QueryExecutionId;
    if (!id) throw new Error('Athena returned no query execution id');
    for (;;) {
      const res = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      const state = res.QueryExecution?.Status?.State;
      if (state === 'SUCCEEDED') return id;
      if (state === 'FAILED' || state === 'CANCELLED') {
        const status = res.QueryExecution?.Status;
        const message = `Athena query ${id} ${state}: ${status?.StateChangeReason ?? ''}`;
        // Athena flags failures of its own (capacity, internal) as retryable: not the caller's fault.
        if (status?.AthenaError?.Retryable) {
          throw new TemporarilyUnavailableError(`${message}; retry the request after a short wait`);
        }
        throw new BadRequestError(message);
      }
      await new Promise((r) => setTimeout(r, this.options.pollMs ?? 500));
    }
  }
}
