import type { FeatureRepo } from '../definitions/repo';
import type { GlueTableRequest } from './glue-tables';
import { manifestTableName, viewTableName, viewTables } from './glue-tables';

/**
 * The table-catalog port: where Athena looks tables up. Adapters: `GlueTableCatalog` (AWS)
 * and `LocalTableCatalog` (a no-op: locally DuckDB reads the manifests' files directly).
 */
export interface TableCatalog {
  /** Creates the table, or replaces its definition when it exists. */
  upsertTable(request: GlueTableRequest): Promise<void>;
  /** Drops the table; dropping a missing table is not an error. */
  dropTable(database: string, name: string): Promise<void>;
}

/** The local stand-in: nothing to register, DuckDB reads files named by the manifests. */
export class LocalTableCatalog implements TableCatalog {
  async upsertTable(): Promise<void> {}
  async dropTable(): Promise<void> {}
}

/** The catalog changes an apply makes: tables to create or update, tables to drop. */
export interface CatalogChanges {
  readonly upserts: readonly GlueTableRequest[];
  readonly drops: readonly string[];
}

/**
 * The tables an apply must write: both tables of every view of the new repo (upserted, so a
 * changed schema updates the columns), and both tables of every view the previous registry
 * had and the new one does not.
 *
 * @example
 * const changes = catalogChanges(repo, previousRepo, 'features-bucket', 'features_prod');
 */
export function catalogChanges(
  repo: FeatureRepo,
  previous: FeatureRepo | undefined,
  bucket: string,
  database: string,
): CatalogChanges {
  const upserts = [...repo.views.values()].flatMap((v) => viewTables(v, bucket, database));
  const drops = [...(previous?.views.keys() ?? [])]
    .filter((name) => !repo.views.has(name))
    .flatMap((name) => [viewTableName(name), manifestTableName(name)]);
  return { upserts, drops };
}

/**
 * Brings the catalog in line with an applied registry (run by `apply` after the registry is
 * stored). Idempotent: a rerun rewrites the same definitions.
 *
 * @example
 * await applyCatalog(new GlueTableCatalog(glue), repo, previous, bucket, 'features_prod');
 */
export async function applyCatalog(
  catalog: TableCatalog,
  repo: FeatureRepo,
  previous: FeatureRepo | undefined,
  bucket: string,
  database: string,
): Promise<CatalogChanges> {
  const changes = catalogChanges(repo, previous, bucket, database);
  for (const t of changes.upserts) await catalog.upsertTable(t);
  for (const name of changes.drops) await catalog.dropTable(database, name);
  return changes;
}
