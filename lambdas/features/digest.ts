import { createHash } from 'node:crypto';
import { q } from './render-sql';
import type { SqlEngine } from './sql-engine';

/** Rows per digest block; blocks hash in parallel and the set digest chains them in order. */
export const DIGEST_BLOCK_ROWS = 65_536;

/**
 * The content digest of a training set, which tracking records as its dataset version.
 * What is hashed, exactly:
 * - each row becomes a JSON array of its values in column order (`json_array`): numbers as
 *   JSON numbers, strings as JSON strings, booleans as `true`/`false`, null as `null`,
 *   timestamps as integer microseconds since 1970-01-01T00:00:00Z (formatting dates costs
 *   more than the join itself at 1M rows);
 * - rows are taken in output order and cut into blocks of 65,536; a block's hash is the
 *   hex sha256 of its rows joined by `\n`;
 * - the digest is `sha256:` + hex sha256 of the JSON array of column names, then `\n`, then
 *   the block hashes joined by `\n`.
 * It depends only on the rows and their order, not on the file format or the dialect.
 *
 * @example
 * const d = await digestRelation(engine, '__training_set', '__row_id', columns, timestampColumns);
 */
export async function digestRelation(
  engine: SqlEngine,
  table: string,
  orderColumn: string,
  columns: readonly string[],
  timestampColumns: ReadonlySet<string>,
): Promise<string> {
  const values = columns.map((c) => (timestampColumns.has(c) ? `epoch_us(${q(c)})` : q(c)));
  const rowJson = columns.length > 0 ? `CAST(json_array(${values.join(', ')}) AS VARCHAR)` : `'[]'`;
  const blocks = await engine.query(
    `SELECT ${q(orderColumn)} // ${DIGEST_BLOCK_ROWS} AS b, sha256(string_agg(${rowJson}, chr(10) ORDER BY ${q(orderColumn)})) AS h ` +
      `FROM ${q(table)} GROUP BY b ORDER BY b`,
  );
  const hash = createHash('sha256').update(JSON.stringify(columns));
  for (const b of blocks) hash.update(`\n${String(b['h'])}`);
  return `sha256:${hash.digest('hex')}`;
}
