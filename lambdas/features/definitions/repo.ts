import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidParameterError } from '../../platform/errors';
import { parseDuration } from './duration';
import {
  type AggregationDef,
  DefinitionsFileSchema,
  type EntityDef,
  type FeatureServiceDef,
  type FeatureViewDef,
  OnDemandFeatureViewSchema,
  type OnDemandTransform,
  type SourceDef,
  type ValueType,
} from './schema';

/** The stored form of an on-demand view: the JSON fields plus a digest of its transform's source. */
export const StoredOnDemandSchema = OnDemandFeatureViewSchema.extend({
  transformDigest: z.string().optional(),
});

/** The JSON-safe, normalized definitions a registry stores (every list sorted by name). */
export const RegistryDefinitionsSchema = DefinitionsFileSchema.extend({
  onDemandFeatureViews: z.array(StoredOnDemandSchema).default([]),
});
export type RegistryDefinitions = z.infer<typeof RegistryDefinitionsSchema>;

/** A window aggregation with its window in seconds. */
export interface ResolvedAggregation extends AggregationDef {
  readonly windowSeconds: number;
}

/** A feature view joined to its source and entities, with durations in seconds. */
export interface ResolvedView {
  readonly def: FeatureViewDef;
  readonly source: SourceDef;
  readonly ttlSeconds: number;
  readonly joinKeys: readonly { readonly name: string; readonly type: 'string' | 'int64' }[];
  readonly aggregations: readonly ResolvedAggregation[];
  /** Every source column the view's offline table keeps, with its type. */
  readonly columns: ReadonlyMap<string, ValueType>;
}

/** A validated feature repo: the registry document plus lookups and (from TS repos) transforms. */
export interface FeatureRepo {
  readonly definitions: RegistryDefinitions;
  readonly entities: ReadonlyMap<string, EntityDef>;
  readonly sources: ReadonlyMap<string, SourceDef>;
  readonly views: ReadonlyMap<string, ResolvedView>;
  readonly onDemand: ReadonlyMap<
    string,
    { readonly def: z.infer<typeof StoredOnDemandSchema>; readonly transform?: OnDemandTransform }
  >;
  readonly services: ReadonlyMap<string, FeatureServiceDef>;
}

/** Raw definitions gathered from a repo folder (or a stored registry) before validation. */
export interface RawDefinitions {
  readonly file: unknown;
  readonly transforms?: ReadonlyMap<string, OnDemandTransform>;
}

/**
 * Validates definitions as a whole: the schema of each object, then every cross reference
 * (entities, sources, columns and their types, feature references). Errors name the object
 * and field and say what to fix; nothing is stored until this passes.
 *
 * @example
 * const repo = buildRepo({ file: parsedYaml });
 */
export function buildRepo(raw: RawDefinitions): FeatureRepo {
  const parsed = RegistryDefinitionsSchema.safeParse(raw.file);
  if (!parsed.success)
    throw new InvalidParameterError(`invalid definitions: ${formatZodError(parsed.error)}`);
  const defs = sortDefinitions(parsed.data);

  const entities = uniqueMap('entity', defs.entities);
  const sources = uniqueMap('source', defs.sources);
  for (const s of defs.sources) {
    uniqueMap(`source '${s.name}' column`, s.columns);
    for (const e of s.expectations ?? []) {
      if (e.column && !s.columns.some((c) => c.name === e.column)) {
        throw new InvalidParameterError(`source '${s.name}': expectation on unknown column '${e.column}'`);
      }
      if (!e.column && e.metric !== 'rowCount') {
        throw new InvalidParameterError(`source '${s.name}': expectation '${e.metric}' needs a column`);
      }
    }
  }
  const views = new Map<string, ResolvedView>();
  for (const v of defs.featureViews) {
    if (views.has(v.name)) throw new InvalidParameterError(`feature view '${v.name}' is defined twice`);
    views.set(v.name, resolveView(v, entities, sources));
  }
  const onDemand = new Map<
    string,
    { def: z.infer<typeof StoredOnDemandSchema>; transform?: OnDemandTransform }
  >();
  for (const o of defs.onDemandFeatureViews) {
    const where = `on-demand feature view '${o.name}'`;
    if (views.has(o.name) || onDemand.has(o.name)) {
      throw new InvalidParameterError(`${where}: the name is already used by another feature view`);
    }
    for (const ref of o.features) resolveViewFeature(ref, views, where);
    uniqueMap(`${where} output`, o.schema);
    const transform = raw.transforms?.get(o.name);
    const def = transform ? { ...o, transformDigest: digestTransform(transform) } : o;
    onDemand.set(o.name, transform ? { def, transform } : { def });
  }
  const services = uniqueMap('feature service', defs.featureServices);
  for (const s of defs.featureServices) {
    for (const ref of s.features) {
      const where = `feature service '${s.name}'`;
      if (ref.includes(':')) resolveAnyFeature(ref, views, onDemand, where);
      else if (!views.has(ref) && !onDemand.has(ref)) {
        throw new InvalidParameterError(
          `${where}: unknown feature view '${ref}'; known: ${known(views, onDemand)}`,
        );
      }
    }
  }
  const definitions: RegistryDefinitions = {
    ...defs,
    onDemandFeatureViews: [...onDemand.values()].map((o) => o.def),
  };
  return { definitions, entities, sources, views, onDemand, services };
}

function resolveView(
  v: FeatureViewDef,
  entities: ReadonlyMap<string, EntityDef>,
  sources: ReadonlyMap<string, SourceDef>,
): ResolvedView {
  const where = `feature view '${v.name}'`;
  const source = sources.get(v.source);
  if (!source) {
    throw new InvalidParameterError(
      `${where}: unknown source '${v.source}'; known: ${[...sources.keys()].join(', ')}`,
    );
  }
  const sourceTypes = new Map(source.columns.map((c) => [c.name, c.type] as const));
  const columns = new Map<string, ValueType>();
  const need = (col: string, field: string, type?: ValueType | readonly ValueType[]): ValueType => {
    const t = sourceTypes.get(col);
    if (!t)
      throw new InvalidParameterError(
        `${where}: ${field} '${col}' is not a column of source '${source.name}'`,
      );
    const allowed = type === undefined ? undefined : Array.isArray(type) ? type : [type];
    if (allowed && !allowed.includes(t)) {
      throw new InvalidParameterError(
        `${where}: ${field} '${col}' has type ${t} in source '${source.name}'; expected ${allowed.join(' or ')}`,
      );
    }
    columns.set(col, t);
    return t;
  };
  const joinKeys: { name: string; type: 'string' | 'int64' }[] = [];
  for (const e of v.entities) {
    const ent = entities.get(e);
    if (!ent)
      throw new InvalidParameterError(
        `${where}: unknown entity '${e}'; known: ${[...entities.keys()].join(', ')}`,
      );
    for (const k of ent.joinKeys) {
      need(k.name, `join key of entity '${e}'`, k.type);
      if (!joinKeys.some((j) => j.name === k.name)) joinKeys.push(k);
    }
  }
  need(v.timestampField, 'timestampField', 'timestamp');
  if (v.createdTimestampField) need(v.createdTimestampField, 'createdTimestampField', 'timestamp');
  const outputs = new Set<string>();
  const claim = (name: string): void => {
    if (outputs.has(name) || joinKeys.some((k) => k.name === name)) {
      throw new InvalidParameterError(
        `${where}: '${name}' is defined twice (features, aggregations and join keys share one namespace)`,
      );
    }
    outputs.add(name);
  };
  for (const f of v.features) {
    claim(f.name);
    need(f.name, 'feature', f.type);
  }
  const aggregations = v.aggregations.map((a) => {
    claim(a.name);
    const field = `aggregation '${a.name}'`;
    if (!a.column && a.function !== 'count') {
      throw new InvalidParameterError(`${where}: ${field} needs a column for function '${a.function}'`);
    }
    const numeric = a.function === 'sum' || a.function === 'mean';
    if (a.column) need(a.column, `${field} column`, numeric ? ['int64', 'float64'] : undefined);
    const windowSeconds = parseDuration(a.window, `${where}: ${field} window`);
    if (windowSeconds <= 0)
      throw new InvalidParameterError(`${where}: ${field} window must be longer than 0`);
    return { ...a, windowSeconds };
  });
  const ttlSeconds = parseDuration(v.ttl ?? 0, `${where}: ttl`);
  if (v.features.length + aggregations.length === 0) {
    throw new InvalidParameterError(`${where}: declare at least one feature or aggregation`);
  }
  return { def: v, source, ttlSeconds, joinKeys, aggregations, columns };
}

/** A selected view feature: a plain feature or a window aggregation. */
export type ViewFeature =
  | { readonly kind: 'feature'; readonly view: ResolvedView; readonly name: string; readonly type: ValueType }
  | {
      readonly kind: 'aggregation';
      readonly view: ResolvedView;
      readonly name: string;
      readonly agg: ResolvedAggregation;
    };

/** Resolves `view:feature` against the feature views (not on-demand ones). */
export function resolveViewFeature(
  ref: string,
  views: ReadonlyMap<string, ResolvedView>,
  where: string,
): ViewFeature {
  const [viewName, feature, extra] = ref.split(':');
  if (!viewName || !feature || extra !== undefined) {
    throw new InvalidParameterError(`${where}: '${ref}' is not a feature reference; write 'view:feature'`);
  }
  const view = views.get(viewName);
  if (!view)
    throw new InvalidParameterError(
      `${where}: unknown feature view '${viewName}' in '${ref}'; known: ${[...views.keys()].join(', ')}`,
    );
  const f = view.def.features.find((x) => x.name === feature);
  if (f) return { kind: 'feature', view, name: f.name, type: f.type };
  const agg = view.aggregations.find((a) => a.name === feature);
  if (agg) return { kind: 'aggregation', view, name: agg.name, agg };
  const names = [...view.def.features.map((x) => x.name), ...view.aggregations.map((a) => a.name)];
  throw new InvalidParameterError(
    `${where}: unknown feature '${feature}' in view '${viewName}'; it has: ${names.join(', ')}`,
  );
}

function resolveAnyFeature(
  ref: string,
  views: ReadonlyMap<string, ResolvedView>,
  onDemand: ReadonlyMap<string, { def: { schema: { name: string }[] } }>,
  where: string,
): void {
  const [viewName, feature] = ref.split(':');
  const o = viewName ? onDemand.get(viewName) : undefined;
  if (o) {
    if (!o.def.schema.some((s) => s.name === feature)) {
      throw new InvalidParameterError(
        `${where}: unknown feature '${feature}' in on-demand view '${viewName}'`,
      );
    }
    return;
  }
  resolveViewFeature(ref, views, where);
}

function known(...maps: ReadonlyMap<string, unknown>[]): string {
  return maps.flatMap((m) => [...m.keys()]).join(', ');
}

function uniqueMap<T extends { name: string }>(kind: string, items: readonly T[]): Map<string, T> {
  const out = new Map<string, T>();
  for (const item of items) {
    if (out.has(item.name)) throw new InvalidParameterError(`${kind} '${item.name}' is defined twice`);
    out.set(item.name, item);
  }
  return out;
}

function sortDefinitions(d: RegistryDefinitions): RegistryDefinitions {
  const byName = <T extends { name: string }>(xs: T[]): T[] =>
    [...xs].sort((a, b) => a.name.localeCompare(b.name));
  return {
    entities: byName(d.entities),
    sources: byName(d.sources),
    featureViews: byName(d.featureViews),
    onDemandFeatureViews: byName(d.onDemandFeatureViews),
    featureServices: byName(d.featureServices),
  };
}

/** Digest of a transform's source text, so `plan` sees a changed function. */
export function digestTransform(fn: OnDemandTransform): string {
  return createHash('sha256').update(fn.toString()).digest('hex').slice(0, 16);
}

/** One line per zod issue: `path: message`. */
export function formatZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
