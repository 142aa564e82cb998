import { z } from 'zod';

/**
 * The one schema of feature definitions. YAML/JSON repos are parsed with it, the TypeScript
 * helpers in `define.ts` are typed from it, and `docs/features.md` documents it, so the three
 * cannot drift. Words follow Feast: entity, data source, feature view, on-demand feature view,
 * feature service.
 */

/** Value types a column, join key or feature may have. */
export const ValueType = z.enum(['string', 'int64', 'float64', 'bool', 'timestamp']);
export type ValueType = z.infer<typeof ValueType>;

const Name = z
  .string()
  .regex(/^[a-z_][a-z0-9_]*$/, 'use lower_snake_case: letters, digits and _, not starting with a digit')
  .max(64);

/** A duration: `30d`, `1h`, `15m`, `45s`, `2w`, or whole seconds. */
export const Duration = z.union([z.string(), z.number().int().nonnegative()]);

const Field = z.strictObject({ name: Name, type: ValueType, description: z.string().optional() });

export const EntitySchema = z.strictObject({
  name: Name,
  joinKeys: z.array(z.strictObject({ name: Name, type: z.enum(['string', 'int64']) })).min(1),
  description: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
});

/** One column of a source's schema with its null, range and allowed-value rules. */
export const ColumnSchema = z.strictObject({
  name: Name,
  type: ValueType,
  /** false: a batch with a null in this column is rejected. @default true */
  nullable: z.boolean().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  allowed: z
    .array(z.union([z.string(), z.number(), z.boolean()]))
    .min(1)
    .optional(),
});

/** A distribution expectation checked on every batch: the metric must lie in [min, max]. */
export const ExpectationSchema = z.strictObject({
  column: Name.optional(),
  metric: z.enum(['rowCount', 'mean', 'stddev', 'min', 'max', 'nullFraction', 'distinctCount']),
  min: z.number().optional(),
  max: z.number().optional(),
});

const SourceCommon = {
  name: Name,
  columns: z.array(ColumnSchema).min(1),
  expectations: z.array(ExpectationSchema).optional(),
  description: z.string().optional(),
};

export const SourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('file'),
    format: z.enum(['parquet', 'csv']),
    /** `s3://bucket/key`, or a path relative to the repo folder. */
    path: z.string().min(1),
    ...SourceCommon,
  }),
  z.strictObject({ kind: z.literal('push'), ...SourceCommon }),
]);

export const AggregationSchema = z.strictObject({
  name: Name,
  function: z.enum(['count', 'sum', 'mean', 'min', 'max', 'last']),
  /** Source column; optional for `count`, which then counts rows. */
  column: Name.optional(),
  window: Duration,
});

export const FeatureViewSchema = z.strictObject({
  name: Name,
  entities: z.array(Name).min(1),
  source: Name,
  timestampField: Name,
  createdTimestampField: Name.optional(),
  /** How long a value stays valid after its event time; 0 = forever. @default 0 */
  ttl: Duration.optional(),
  features: z.array(Field).default([]),
  aggregations: z.array(AggregationSchema).default([]),
  description: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
});

export const OnDemandFeatureViewSchema = z.strictObject({
  name: Name,
  /** Feature references (`view:feature`) the transform reads. */
  features: z.array(z.string()).default([]),
  /** Request columns the transform reads from the entity rows. */
  request: z.array(Field).default([]),
  schema: z.array(Field).min(1),
  description: z.string().optional(),
});

export const FeatureServiceSchema = z.strictObject({
  name: Name,
  /** `view:feature`, or `view` for all features of a view. */
  features: z.array(z.string()).min(1),
  description: z.string().optional(),
});

/** The shape of a YAML/JSON definitions file (every list optional). */
export const DefinitionsFileSchema = z.strictObject({
  entities: z.array(EntitySchema).default([]),
  sources: z.array(SourceSchema).default([]),
  featureViews: z.array(FeatureViewSchema).default([]),
  onDemandFeatureViews: z.array(OnDemandFeatureViewSchema).default([]),
  featureServices: z.array(FeatureServiceSchema).default([]),
});

export type EntityDef = z.infer<typeof EntitySchema>;
export type ColumnDef = z.infer<typeof ColumnSchema>;
export type ExpectationDef = z.infer<typeof ExpectationSchema>;
export type SourceDef = z.infer<typeof SourceSchema>;
export type AggregationDef = z.infer<typeof AggregationSchema>;
export type FeatureViewDef = z.infer<typeof FeatureViewSchema>;
export type OnDemandFeatureViewDef = z.infer<typeof OnDemandFeatureViewSchema>;
export type FeatureServiceDef = z.infer<typeof FeatureServiceSchema>;
export type DefinitionsFile = z.infer<typeof DefinitionsFileSchema>;

/** A request/feature row handed to an on-demand transform. */
export type OnDemandRow = Record<string, string | number | boolean | Date | null>;
/** A pure function from request values and features to the on-demand view's features. */
export type OnDemandTransform = (row: OnDemandRow) => Record<string, string | number | boolean | Date | null>;
