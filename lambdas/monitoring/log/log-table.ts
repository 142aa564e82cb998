import { PREDICTIONS_PREFIX } from './log-store';

/**
 * The stored prediction log's columns (lambdas/monitoring/log/log-store.ts, StoredPrediction),
 * written once for both readers: the Glue table Athena queries (lib/monitoring/monitoring.ts)
 * and the DuckDB view the local runtime queries. `model` and `date` are not columns of the
 * files' schema but partitions of the key (`predictions/model=<m>/date=<yyyy-mm-dd>/`).
 */
export const PREDICTION_LOG_COLUMNS: readonly {
  name: string;
  glue: string;
  duckdb: string;
  comment: string;
}[] = [
  { name: 'request_id', glue: 'string', duckdb: 'VARCHAR', comment: 'the request (one per API call)' },
  { name: 'version', glue: 'string', duckdb: 'VARCHAR', comment: 'the model version that answered' },
  { name: 'variant', glue: 'string', duckdb: 'VARCHAR', comment: 'the Lambda version or arm that answered' },
  { name: 'api', glue: 'string', duckdb: 'VARCHAR', comment: 'v1 (predict) or v2 (infer)' },
  { name: 'ts', glue: 'bigint', duckdb: 'BIGINT', comment: 'epoch milliseconds of the answer' },
  { name: 'timestamp', glue: 'string', duckdb: 'VARCHAR', comment: 'the same instant, ISO 8601' },
  { name: 'status', glue: 'int', duckdb: 'INTEGER', comment: 'HTTP status of the request' },
  { name: 'latency_ms', glue: 'double', duckdb: 'DOUBLE', comment: 'time to answer' },
  {
    name: 'row',
    glue: 'int',
    duckdb: 'INTEGER',
    comment: "the row's index in its request; null for a failure",
  },
  {
    name: 'inputs',
    glue: 'map<string,string>',
    duckdb: 'JSON',
    comment: 'feature values by name, as fed to the model',
  },
  { name: 'prediction', glue: 'double', duckdb: 'DOUBLE', comment: "the row's primary output" },
  {
    name: 'entities',
    glue: 'map<string,string>',
    duckdb: 'JSON',
    comment: 'entity keys of an online lookup',
  },
  { name: 'error_code', glue: 'string', duckdb: 'VARCHAR', comment: 'why a request failed' },
  { name: 'extra', glue: 'string', duckdb: 'VARCHAR', comment: 'further fields of the log line, as JSON' },
];

/** The partition keys, in the order of the key's segments. */
export const PREDICTION_LOG_PARTITIONS = ['model', 'date'] as const;

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * A DuckDB table expression over the prediction log as the local runtime stores it
 * (`<bucket dir>/predictions/model=*\/date=*\/*.json.gz`), with the Glue table's columns and
 * its two partitions (hive partitioning), so the queries written for Athena run locally with
 * DuckDB's dialect.
 *
 * @example
 * await conn.run(`CREATE VIEW predictions AS SELECT * FROM ${duckdbPredictionLog('/data/s3/monitoring')}`);
 */
export function duckdbPredictionLog(bucketDir: string): string {
  const glob = `${bucketDir.replace(/\/+$/, '')}/${PREDICTIONS_PREFIX}/model=*/date=*/*.json.gz`;
  const columns = PREDICTION_LOG_COLUMNS.map((c) => `${sqlString(c.name)}: ${sqlString(c.duckdb)}`).join(
    ', ',
  );
  return `read_json(${sqlString(glob)}, format = 'newline_delimited', compression = 'gzip', hive_partitioning = true, hive_types = {'model': VARCHAR, 'date': VARCHAR}, columns = {${columns}})`;
}
