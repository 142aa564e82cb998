import { createHash } from 'node:crypto';
import { InvalidParameterError } from '../../platform/errors';
import type { ResolvedView } from '../definitions/repo';
import type { FeatureSelection, SelectedFeature } from '../definitions/selection';
import { type DigestColumn, digestKindOfGlue, renderDigestQuery } from '../offline/digest';
import { ROW_ID } from '../offline/entity-rows';
import { type DateRange, viewDateRange } from '../offline/partition-dates';
import { buildPitPlan } from '../offline/pit-plan';
import { literal, q, renderPitQuery } from '../offline/render-sql';
import {
  type GlueColumn,
  type GlueTableRequest,
  glueType,
  manifestTableName,
  parquetTableInput,
  s3Location,
  viewTableName,
} from './glue-tables';

/** What the Athena plan is computed from (all known before anything is written). */
export interface AthenaPlanInput {
  /** Training-set id: the S3 folder `training-sets/<id>/` and the temporary tables' names. */
  readonly id: string;
  readonly bucket: string;
  readonly database: string;
  readonly selection: FeatureSelection;
  readonly timestampColumn: string;
  /** Entity-row columns (without the row id) with their Glue types, in order. */
  readonly entityColumns: readonly GlueColumn[];
  /** Per view: the partition dates its committed manifests list. */
  readonly committedDates: ReadonlyMap<string, DateRange>;
  /** Earliest and latest entity-row event time, epoch milliseconds. */
  readonly entityTimes: { readonly min: number; readonly max: number };
}

/** One step of building a training set on Athena, in execution order. */
export type AthenaStep =
  | { readonly op: 'upload-entity-rows'; readonly key: string }
  | { readonly op: 'create-table'; readonly request: GlueTableRequest }
  | { readonly op: 'clear-prefix'; readonly prefix: string }
  | { readonly op: 'unload'; readonly sql: string; readonly uri: string }
  | { readonly op: 'digest'; readonly sql: string }
  | { readonly op: 'drop-table'; readonly database: string; readonly name: string };

/** The whole Athena build: steps, the steps that always run at the end, and what it yields. */
export interface AthenaTrainingPlan {
  readonly id: string;
  readonly entityRowsKey: string;
  readonly dataPrefix: string;
  readonly dataUri: string;
  /** Output columns (the data also keeps `__row_id` first, for ordering). */
  readonly columns: readonly string[];
  /** The Athena-dialect point-in-time query. */
  readonly sql: string;
  readonly steps: readonly AthenaStep[];
  /** Run whether the steps succeed or fail: drop the temporary tables. */
  readonly cleanup: readonly AthenaStep[];
}

/** S3 prefix of a training set. */
export function trainingSetPrefix(id: string): string {
  return `training-sets/${id}/`;
}

/** Rejects an id that is not one safe S3 folder name. */
export function assertTrainingSetId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) || id.includes('..')) {
    throw new InvalidParameterError(
      `training-set id '${id}' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

/** Glue names of the temporary tables: lower case, and a hash keeps distinct ids distinct. */
export function temporaryTableNames(id: string): { entityRows: string; data: string } {
  const slug = id
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 60);
  const h = createHash('sha256').update(id).digest('hex').slice(0, 8);
  return { entityRows: `ts_${slug}_${h}_entity_rows`, data: `ts_${slug}_${h}_data` };
}

/** CTE name of a view's committed rows inside the query. */
export function committedRelationName(view: string): string {
  return `committed_${view}`;
}

/**
 * The rows of a view Athena may read: files listed by a committed manifest only. The view
 * table sees every file of the partition folders; the `"$path"` filter keeps the files whose
 * key appears in a manifest (the manifest PUT is the commit), so a batch being written is
 * never half visible. The `date` predicate prunes partitions (projection lists only those).
 *
 * @example
 * committedRelationSql(view, 's3://features-bucket/', { from: '2024-03-01', to: '2024-03-10' });
 */
export function committedRelationSql(view: ResolvedView, uriPrefix: string, dates: DateRange): string {
  const name = view.def.name;
  const cols = [...view.columns.keys()].map(q).join(', ');
  if (!dates) return `SELECT ${cols} FROM ${q(viewTableName(name))} WHERE false`;
  const keys =
    `SELECT ${literal(uriPrefix)} || k FROM ${q(manifestTableName(name))} ` +
    `CROSS JOIN UNNEST(regexp_extract_all(line, ${literal(`"(offline/${name}/[^"]+)"`)}, 1)) AS t(k)`;
  return (
    `SELECT ${cols} FROM ${q(viewTableName(name))} ` +
    `WHERE "date" BETWEEN ${literal(dates.from)} AND ${literal(dates.to)} AND "$path" IN (${keys})`
  );
}

/** The Glue type of a selected feature's output column. */
export function featureGlueType(f: SelectedFeature): string {
  if (f.kind === 'onDemand') return glueType(f.type);
  if (f.kind === 'feature') return glueType(f.type);
  const a = f.agg;
  switch (a.function) {
    case 'count':
      return 'bigint';
    case 'mean':
      return 'double';
    case 'sum':
      return a.column && f.view.columns.get(a.column) === 'int64' ? 'bigint' : 'double';
    default: {
      const t = a.column ? f.view.columns.get(a.column) : undefined;
      return t ? glueType(t) : 'double';
    }
  }
}

/**
 * Plans a training set on Athena as data, so the orchestration is checked without AWS:
 * upload the checked entity rows (Parquet with `__row_id` = input order) to
 * `training-sets/<id>/entity-rows/`, register them and the future output as temporary Glue
 * tables, clear `training-sets/<id>/data/` (UNLOAD refuses a non-empty target and leaves
 * orphans on failure), UNLOAD the Athena-dialect point-in-time query there as Parquet, then
 * compute the content digest in Athena over the unloaded rows. UNLOAD writes files in
 * parallel without a global order, so the data keeps `__row_id` for readers to sort by; the
 * digest orders by it. The temporary tables are dropped at the end, whatever happened.
 *
 * @example
 * const plan = planAthenaTrainingSet({ id: 'run-42', bucket, database, selection, ... });
 */
export function planAthenaTrainingSet(input: AthenaPlanInput): AthenaTrainingPlan {
  const { id, bucket, database, selection } = input;
  assertTrainingSetId(id);
  if (selection.onDemandViews.length > 0) {
    throw new InvalidParameterError(
      `on-demand feature views (${selection.onDemandViews.join(', ')}) are not computed on Athena; build this training set locally or request only feature-view features`,
    );
  }
  const prefix = trainingSetPrefix(id);
  const entityRowsKey = `${prefix}entity-rows/entity-rows.parquet`;
  const dataPrefix = `${prefix}data/`;
  const tables = temporaryTableNames(id);
  const entityNames = input.entityColumns.map((c) => c.Name);
  const plan = buildPitPlan(
    selection,
    { table: tables.entityRows, rowId: ROW_ID, timestampColumn: input.timestampColumn, columns: entityNames },
    committedRelationName,
  );
  const uriPrefix = `s3://${bucket}/`;
  const relations = selection.views.map((v) => ({
    name: committedRelationName(v.def.name),
    sql: committedRelationSql(
      v,
      uriPrefix,
      viewDateRange(v, selection.features, input.committedDates.get(v.def.name), input.entityTimes),
    ),
  }));
  const sql = renderPitQuery(plan, 'athena', relations);
  const visible = selection.features.filter((f) => !f.hidden);
  const entityTable: GlueColumn[] = [{ Name: ROW_ID, Type: 'bigint' }, ...input.entityColumns];
  const dataColumns: GlueColumn[] = [
    ...entityTable,
    ...visible.map((f) => ({ Name: f.output, Type: featureGlueType(f) })),
  ];
  const digestColumns = dataColumns.slice(1).map((c): DigestColumn => {
    const kind = digestKindOfGlue(c.Type);
    if (!kind)
      throw new InvalidParameterError(
        `entity-row column '${c.Name}' has type ${c.Type}, which Athena training sets do not support; use numbers, strings, booleans, dates or timestamps`,
      );
    return { name: c.Name, kind };
  });
  const dataUri = s3Location(bucket, dataPrefix);
  return {
    id,
    entityRowsKey,
    dataPrefix,
    dataUri,
    columns: dataColumns.slice(1).map((c) => c.Name),
    sql,
    steps: [
      { op: 'upload-entity-rows', key: entityRowsKey },
      {
        op: 'create-table',
        request: parquetTableInput(
          tables.entityRows,
          database,
          s3Location(bucket, `${prefix}entity-rows`),
          entityTable,
          `Entity rows of training set '${id}' (temporary)`,
        ),
      },
      {
        op: 'create-table',
        request: parquetTableInput(
          tables.data,
          database,
          dataUri,
          dataColumns,
          `Rows of training set '${id}' (temporary)`,
        ),
      },
      { op: 'clear-prefix', prefix: dataPrefix },
      // Wrapped: the ORDER BY is pointless across UNLOAD's parallel files, and a bare WITH may not parse.
      { op: 'unload', sql: `SELECT * FROM (${sql}) t`, uri: dataUri },
      { op: 'digest', sql: renderDigestQuery('athena', tables.data, ROW_ID, digestColumns) },
    ],
    cleanup: [
      { op: 'drop-table', database, name: tables.entityRows },
      { op: 'drop-table', database, name: tables.data },
    ],
  };
}
