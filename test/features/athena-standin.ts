import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GlueTableRequest } from '../../lambdas/features/athena/glue-tables';
import type { TableCatalog } from '../../lambdas/features/athena/table-catalog';
import type { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { literal, q } from '../../lambdas/features/offline/render-sql';
import type { SqlEngine, SqlRow } from '../../lambdas/features/offline/sql-engine';

/**
 * Athena and Glue stood in by DuckDB over the local store, for tests only: each Glue table
 * request becomes a DuckDB view built from what the request says (location, partition
 * projection template, SerDe), and Athena-dialect SQL runs on DuckDB after mapping the few
 * Trino function names DuckDB spells differently. The SQL and table definitions under test
 * are the real ones; only the engine differs.
 */
export class DuckAthena implements SqlEngine, TableCatalog {
  readonly dialect = 'athena' as const;
  readonly tables = new Map<string, GlueTableRequest>();
  readonly log: string[] = [];
  private shimmed = false;

  constructor(
    private readonly engine: DuckDbEngine,
    /** Local folder holding `<bucket>/<key>` (the FsObjectStore root). */
    private readonly root: string,
  ) {}

  async upsertTable(request: GlueTableRequest): Promise<void> {
    this.tables.set(request.TableInput.Name, request);
    this.log.push(`upsert ${request.TableInput.Name}`);
  }

  async dropTable(_database: string, name: string): Promise<void> {
    this.tables.delete(name);
    this.log.push(`drop ${name}`);
    await this.engine.run(`DROP VIEW IF EXISTS ${q(name)}`);
  }

  async run(sql: string): Promise<void> {
    await this.prepare();
    await this.engine.run(trinoOnDuckDb(sql));
  }

  async query(sql: string): Promise<SqlRow[]> {
    await this.prepare();
    return this.engine.query(trinoOnDuckDb(sql));
  }

  /** UNLOAD: Parquet files under the target prefix (two, to show order is not assumed). */
  async write(sql: string, uri: string, format: 'parquet' | 'csv'): Promise<void> {
    await this.prepare();
    const dir = this.local(uri);
    this.log.push(`unload ${uri}`);
    const body = trinoOnDuckDb(sql);
    await mkdir(dir, { recursive: true });
    // Odd row ids to the first file, even to the second: files are not in row order.
    await this.engine.write(`SELECT * FROM (${body}) WHERE "__row_id" % 2 = 1`, join(dir, 'b-0'), format);
    await this.engine.write(`SELECT * FROM (${body}) WHERE "__row_id" % 2 = 0`, join(dir, 'a-1'), format);
  }

  private local(uri: string): string {
    const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
    if (!m) throw new Error(`not an s3 uri: ${uri}`);
    return join(this.root, m[1] ?? '', m[2] ?? '');
  }

  /** (Re)creates a DuckDB view per registered table from the files present now. */
  private async prepare(): Promise<void> {
    if (!this.shimmed) {
      for (const m of TRINO_MACROS) await this.engine.run(`CREATE OR REPLACE MACRO ${m}`);
      this.shimmed = true;
    }
    for (const [name, req] of this.tables) {
      const sd = req.TableInput.StorageDescriptor;
      const dir = this.local(sd.Location);
      const bucketRoot = this.local(sd.Location.replace(/^(s3:\/\/[^/]+\/).*$/, '$1'));
      const path = `${literal(`s3://${/^s3:\/\/([^/]+)\//.exec(sd.Location)?.[1]}/`)} || substr(filename, ${bucketRoot.length + 2})`;
      const template = req.TableInput.Parameters['storage.location.template'];
      const empty = `SELECT ${sd.Columns.map((c) => `CAST(NULL AS ${duckType(c.Type)}) AS ${q(c.Name)}`).join(', ')}, NULL AS "date", NULL AS "$path" WHERE false`;
      let body: string;
      if (sd.SerdeInfo.SerializationLibrary.includes('Parquet')) {
        const glob = template
          ? // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's projection placeholder
            join(this.local(template.replace('date=${date}/', '')), 'date=*', '*')
          : join(dir, '*');
        body = hasFiles(dir)
          ? `SELECT *, ${path} AS "$path" FROM read_parquet(${literal(glob)}, filename = true, hive_partitioning = ${template ? 'true' : 'false'}, union_by_name = true)`
          : empty;
      } else {
        body = hasFiles(dir)
          ? `SELECT unnest(string_split(content, chr(10))) AS line FROM read_text(${literal(join(dir, '*'))})`
          : 'SELECT NULL::VARCHAR AS line WHERE false';
      }

      await this.engine.run(`CREATE OR REPLACE VIEW ${q(name)} AS ${body}`);
    }
  }
}

function hasFiles(dir: string): boolean {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).some((e) => e.isFile());
  } catch {
    return false;
  }
}

function duckType(glue: string): string {
  return glue === 'string' ? 'VARCHAR' : glue === 'timestamp' ? 'TIMESTAMPTZ' : glue.toUpperCase();
}

/** Trino's functions the Athena SQL uses, as DuckDB macros over DuckDB's own (BLOBs for varbinary). */
export const TRINO_MACROS = [
  'is_nan(x) AS isnan(x)',
  'to_utf8(x) AS encode(x)',
  'from_hex(x) AS unhex(x)',
  "to_big_endian_64(x) AS unhex(lpad(to_hex(CAST(x AS BIGINT)), 16, '0'))",
  "to_big_endian_32(x) AS unhex(lpad(to_hex(CAST(x AS INTEGER)), 8, '0'))",
  // A DOUBLE cast to BIT is its IEEE 754 bits.
  "to_ieee754_64(x) AS unhex(lpad(to_hex(CAST(CAST(CAST(x AS DOUBLE) AS BIT) AS BIGINT)), 16, '0'))",
  'array_join(l, s) AS array_to_string(l, s)',
];

/**
 * Trino spellings DuckDB cannot take as a macro: its sha256 returns hex already, and a
 * BLOB's length is `octet_length`.
 */
export function trinoOnDuckDb(sql: string): string {
  return sql.replaceAll('to_hex(sha256(', '(sha256(').replaceAll('length(to_utf8(', 'octet_length(to_utf8(');
}
