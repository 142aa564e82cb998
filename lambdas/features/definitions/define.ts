import type { z } from 'zod';
import type {
  EntitySchema,
  FeatureServiceSchema,
  FeatureViewSchema,
  OnDemandFeatureViewSchema,
  OnDemandTransform,
  SourceSchema,
} from './schema';

/**
 * Typed helpers for definitions written in TypeScript. A repo module exports the values they
 * return (any export name); the loader collects them by their `defKind`. Inputs are the zod
 * input types of `schema.ts`, so a TS repo and a YAML repo accept exactly the same fields.
 */
export type Definition =
  | { readonly defKind: 'entity'; readonly def: z.input<typeof EntitySchema> }
  | { readonly defKind: 'source'; readonly def: z.input<typeof SourceSchema> }
  | { readonly defKind: 'featureView'; readonly def: z.input<typeof FeatureViewSchema> }
  | {
      readonly defKind: 'onDemandFeatureView';
      readonly def: z.input<typeof OnDemandFeatureViewSchema>;
      readonly transform: OnDemandTransform;
    }
  | { readonly defKind: 'featureService'; readonly def: z.input<typeof FeatureServiceSchema> };

/** Declares an entity. @example export const user = entity({ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }); */
export function entity(def: z.input<typeof EntitySchema>): Definition {
  return { defKind: 'entity', def };
}

/** Declares a Parquet or CSV source. @example fileSource({ name: 'purchases', format: 'csv', path: 'data/p.csv', columns }) */
export function fileSource(
  def: Omit<Extract<z.input<typeof SourceSchema>, { kind: 'file' }>, 'kind'>,
): Definition {
  return { defKind: 'source', def: { kind: 'file', ...def } };
}

/** Declares a push source (rows arrive through ingest calls). @example pushSource({ name: 'clicks', columns }) */
export function pushSource(
  def: Omit<Extract<z.input<typeof SourceSchema>, { kind: 'push' }>, 'kind'>,
): Definition {
  return { defKind: 'source', def: { kind: 'push', ...def } };
}

/** Declares a feature view. @example featureView({ name: 'purchases', entities: ['user'], source: 'purchases', timestampField: 'ts', ttl: '30d', features }) */
export function featureView(def: z.input<typeof FeatureViewSchema>): Definition {
  return { defKind: 'featureView', def };
}

/**
 * Declares an on-demand feature view: a pure function of request values and other features.
 * @example onDemandFeatureView({ name: 'ratios', request: [...], schema: [...], transform: (r) => ({ ... }) })
 */
export function onDemandFeatureView(
  def: z.input<typeof OnDemandFeatureViewSchema> & { transform: OnDemandTransform },
): Definition {
  const { transform, ...rest } = def;
  return { defKind: 'onDemandFeatureView', def: rest, transform };
}

/** Declares the named feature set of one model. @example featureService({ name: 'fraud_v1', features: ['purchases'] }) */
export function featureService(def: z.input<typeof FeatureServiceSchema>): Definition {
  return { defKind: 'featureService', def };
}

/** True when a module export is a definition made by these helpers. */
export function isDefinition(value: unknown): value is Definition {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { defKind?: unknown }).defKind === 'string' &&
    typeof (value as { def?: unknown }).def === 'object'
  );
}
