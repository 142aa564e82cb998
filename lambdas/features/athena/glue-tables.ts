import type { ResolvedView } from '../definitions/repo';
import type { ValueType } from '../definitions/schema';

/**
 * A Glue table definition: the fields of CreateTable/UpdateTable's `TableInput` that we use,
 * spelled as the Glue API spells them so the adapter passes it through unchanged (domain code
 * does not import the AWS SDK).
 */
export interface GlueTableInput {
  readonly Name: string;
  readonly Description?: string;
  readonly TableType: 'EXTERNAL_TABLE';
  readonly Parameters: Readonly<Record<string, string>>;
  readonly PartitionKeys: readonly GlueColumn[];
  readonly StorageDescriptor: {
    readonly Columns: readonly GlueColumn[];
    readonly Location: string;
    readonly InputFormat: string;
    readonly OutputFormat: string;
    readonly SerdeInfo: {
      readonly SerializationLibrary: string;
      readonly Parameters: Readonly<Record<string, string>>;
    };
  };
}

/** A Glue column: lower-case name and Hive type (`bigint`, `string`, `timestamp`...). */
export interface GlueColumn {
  readonly Name: string;
  readonly Type: string;
}

/** What CreateTable and UpdateTable receive. */
export interface GlueTableRequest {
  readonly DatabaseName: string;
  readonly TableInput: GlueTableInput;
}

const GLUE_TYPE: Record<ValueType, string> = {
  string: 'string',
  int64: 'bigint',
  float64: 'double',
  bool: 'boolean',
  // Athena reads Parquet UTC timestamps into `timestamp` (millisecond precision).
  timestamp: 'timestamp',
};

/** The Glue type of a feature value type. */
export function glueType(t: ValueType): string {
  return GLUE_TYPE[t];
}

/** Glue table over a view's partition folders (every file, committed or not). */
export function viewTableName(view: string): string {
  return `offline_${view}`;
}

/** Glue table over a view's batch manifests, one row per manifest line. */
export function manifestTableName(view: string): string {
  return `manifests_${view}`;
}

/** Earliest event date the partition projection covers. */
export const PROJECTION_START = '1970-01-01';

const PARQUET = {
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: {
    SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    Parameters: { 'serialization.format': '1' },
  },
} as const;

/** `s3://bucket/prefix` with the trailing slash Glue locations want. */
export function s3Location(bucket: string, prefix: string): string {
  return `s3://${bucket}/${prefix.endsWith('/') ? prefix : `${prefix}/`}`;
}

/**
 * The Glue table of a feature view's offline rows: external Parquet over
 * `offline/<view>/date=YYYY-MM-DD/`, Hive-partitioned by `date` with partition projection
 * (dates from 1970-01-01 to now + 1 day, `yyyy-MM-dd`), so Athena finds partitions without
 * any being registered. Columns are the view's offline columns with their Glue types.
 * This table sees every file in the partition folders, including a batch whose manifest is
 * not written yet: queries read it through `committedRelationSql`, never directly.
 *
 * @example
 * await glue.send(new CreateTableCommand(glueTableInput(view, 'features-bucket', 'features_prod')));
 */
export function glueTableInput(view: ResolvedView, bucket: string, database: string): GlueTableRequest {
  const name = view.def.name;
  return {
    DatabaseName: database,
    TableInput: {
      Name: viewTableName(name),
      Description: `Feature view '${name}' (source '${view.source.name}'): every file; read committed rows only`,
      TableType: 'EXTERNAL_TABLE',
      Parameters: {
        EXTERNAL: 'TRUE',
        classification: 'parquet',
        'projection.enabled': 'true',
        'projection.date.type': 'date',
        'projection.date.format': 'yyyy-MM-dd',
        'projection.date.range': `${PROJECTION_START},NOW+1DAYS`,
        'projection.date.interval': '1',
        'projection.date.interval.unit': 'DAYS',
        'storage.location.template': `${s3Location(bucket, `offline/${name}`)}date=\${date}/`,
      },
      PartitionKeys: [{ Name: 'date', Type: 'string' }],
      StorageDescriptor: {
        Columns: [...view.columns].map(([n, t]) => ({ Name: n, Type: glueType(t) })),
        Location: s3Location(bucket, `offline/${name}`),
        ...PARQUET,
      },
    },
  };
}

/**
 * The Glue table over a view's manifests (`offline/<view>/_manifests/*.json`) as plain text,
 * one row per line. Queries pull the committed file keys out of it with a regular
 * expression, so it reads pretty-printed and one-line manifests alike.
 */
export function manifestTableInput(view: ResolvedView, bucket: string, database: string): GlueTableRequest {
  const name = view.def.name;
  return {
    DatabaseName: database,
    TableInput: {
      Name: manifestTableName(name),
      Description: `Committed batches of feature view '${name}' (manifest text, one row per line)`,
      TableType: 'EXTERNAL_TABLE',
      Parameters: { EXTERNAL: 'TRUE', classification: 'text' },
      PartitionKeys: [],
      StorageDescriptor: {
        Columns: [{ Name: 'line', Type: 'string' }],
        Location: s3Location(bucket, `offline/${name}/_manifests`),
        InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        SerdeInfo: {
          SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
          // \u0001 never occurs in a manifest: each whole line is one value.
          Parameters: { 'field.delim': '\u0001', 'serialization.format': '\u0001' },
        },
      },
    },
  };
}

/** Both tables a feature view needs on Athena, in creation order. */
export function viewTables(view: ResolvedView, bucket: string, database: string): GlueTableRequest[] {
  return [glueTableInput(view, bucket, database), manifestTableInput(view, bucket, database)];
}

/**
 * An unpartitioned external Parquet table over one prefix (a training set's entity rows or
 * its unloaded data); these live only while the training set is built.
 */
export function parquetTableInput(
  name: string,
  database: string,
  location: string,
  columns: readonly GlueColumn[],
  description: string,
): GlueTableRequest {
  return {
    DatabaseName: database,
    TableInput: {
      Name: name,
      Description: description,
      TableType: 'EXTERNAL_TABLE',
      Parameters: { EXTERNAL: 'TRUE', classification: 'parquet' },
      PartitionKeys: [],
      StorageDescriptor: { Columns: columns, Location: location, ...PARQUET },
    },
  };
}
