import { InvalidParameterError } from '../../platform/errors';
import { computeOnDemandRow } from '../definitions/on-demand';
import type { FeatureRepo, ResolvedView } from '../definitions/repo';
import { type FeatureSelection, type SelectedFeature, selectFeatures } from '../definitions/selection';
import {
  checkKeyValue,
  featureAttr,
  itemKey,
  serializeKey,
  WINDOW_CTS,
  WINDOW_TS,
  windowAttr,
} from './online-item';
import type { OnlineTable } from './online-table';
import { aggregateAt } from './window-aggregate';

/** Feast's request shape: features or a feature service, entity columns, naming. */
export interface OnlineFeaturesRequest {
  readonly features?: readonly string[];
  readonly feature_service?: string;
  /** Join key (and request column) to one value per entity row. */
  readonly entities: Readonly<Record<string, readonly unknown[]>>;
  readonly full_feature_names?: boolean;
}

export type FeatureStatus = 'PRESENT' | 'NOT_FOUND' | 'NULL_VALUE' | 'OUTSIDE_MAX_AGE';

/** Feast's response shape: column-oriented, one result per output column (join keys first). */
export interface OnlineFeaturesResponse {
  readonly metadata: { readonly feature_names: string[] };
  readonly results: { values: unknown[]; statuses: FeatureStatus[]; event_timestamps: (string | null)[] }[];
}

/** What retrieval needs: the repo (with transforms for on-demand views), the table and a clock. */
export interface OnlineDeps {
  readonly repo: FeatureRepo;
  readonly table: OnlineTable;
  /** The request time; values are served as of it (TTL and windows). @default () => new Date() */
  readonly now?: () => Date;
  /** Most entity rows per request. @default 1000 */
  readonly maxEntities?: number;
}

/** Most entity rows one request may ask for, unless the deps say otherwise. */
export const MAX_ENTITIES = 1000;

/**
 * Serves features online with the training set's semantics at the request time: a latest-value
 * feature is null with OUTSIDE_MAX_AGE once older than its view's TTL (Feast does not check);
 * window aggregations are computed over (now − window, now] from the stored events; on-demand
 * features run the same `computeOnDemandRow` as training sets. Every check (features, join keys
 * and their types, row counts) runs before the table is read. Reads only the requested
 * attributes, one BatchGetItem per 100 distinct keys, in parallel.
 *
 * @example
 * const res = await getOnlineFeatures({ repo, table }, { features: ['purchases:amount'], entities: { user_id: [1, 2] } });
 */
export async function getOnlineFeatures(
  deps: OnlineDeps,
  req: OnlineFeaturesRequest,
): Promise<OnlineFeaturesResponse> {
  const { selection, attrsOf, visible, joinKeys, served: servedFeatures } = planFor(deps.repo, req);
  const rows = checkEntities(deps, selection, req.entities);
  const now = (deps.now?.() ?? new Date()).getTime() * 1000;

  // One read per view, only the attributes its requested features need.
  const byView = new Map<ResolvedView, Map<string, Record<string, unknown>>>();
  const keysOf = new Map<ResolvedView, string[]>();
  await Promise.all(
    selection.views.map(async (view) => {
      const keys = Array.from({ length: rows }, (_, j) =>
        itemKey(
          view.def.name,
          serializeKey(
            view,
            view.joinKeys.map((k) => req.entities[k.name]?.[j]),
          ),
        ),
      );
      keysOf.set(view, keys);
      byView.set(view, await deps.table.getItems(keys, attrsOf.get(view) ?? []));
    }),
  );

  const columns = new Map<string, OutputColumn>();
  for (const f of selection.features)
    columns.set(f.output, { values: [], statuses: [], event_timestamps: [] });
  // Each view's items in entity-row order, once per view (its features share them).
  const itemsOf = new Map<ResolvedView, (Record<string, unknown> | undefined)[]>();
  for (const [view, items] of byView)
    itemsOf.set(
      view,
      (keysOf.get(view) ?? []).map((k) => items.get(k)),
    );
  const served = servedFeatures.map((s) => ({
    s,
    col: columns.get(s.f.output) as OutputColumn,
    items: itemsOf.get(s.f.view) ?? [],
  }));
  const isoCache = new Map<number, string>();
  const iso = (micros: number): string => {
    let text = isoCache.get(micros);
    if (text === undefined) {
      text = new Date(micros / 1000).toISOString();
      isoCache.set(micros, text);
    }
    return text;
  };
  const onDemand = selection.onDemandViews.length > 0;
  for (let j = 0; j < rows; j++) {
    const row: Record<string, unknown> | undefined = onDemand ? {} : undefined;
    for (const { s, col, items } of served) {
      const value = serveCell(s, items[j], now, iso, col);
      if (row) {
        const f = s.f;
        row[f.output] =
          f.kind === 'feature' && f.type === 'timestamp' && typeof value === 'string'
            ? new Date(value)
            : value;
      }
    }
    if (row) {
      const od = computeOnDemandRow(
        deps.repo,
        selection,
        (c) => (c in row ? row[c] : req.entities[c]?.[j]),
        `entity row ${j}`,
      );
      for (const [output, value] of Object.entries(od)) {
        const col = columns.get(output);
        col?.values.push(value);
        col?.statuses.push(value === null ? 'NULL_VALUE' : 'PRESENT');
        col?.event_timestamps.push(null);
      }
    }
  }
  return {
    metadata: { feature_names: [...joinKeys, ...visible.map((f) => f.output)] },
    results: [
      ...joinKeys.map((k) => ({
        values: [...(req.entities[k] ?? [])],
        statuses: Array.from({ length: rows }, () => 'PRESENT' as const),
        event_timestamps: Array.from({ length: rows }, () => null),
      })),
      ...visible.map((f) => columns.get(f.output) ?? { values: [], statuses: [], event_timestamps: [] }),
    ],
  };
}

type OutputColumn = { values: unknown[]; statuses: FeatureStatus[]; event_timestamps: (string | null)[] };

/** A stored feature (not on-demand) and the item attribute holding it. */
interface ServedFeature {
  readonly f: Exclude<SelectedFeature, { kind: 'onDemand' }>;
  readonly attr: string;
}

/** What a request shape reads and returns; depends only on the repo and the requested names. */
interface ReadPlan {
  readonly selection: FeatureSelection;
  /** The stored features in request order, each with its attribute. */
  readonly served: readonly ServedFeature[];
  readonly attrsOf: ReadonlyMap<ResolvedView, readonly string[]>;
  readonly visible: readonly SelectedFeature[];
  readonly joinKeys: readonly string[];
}

// A repo is immutable once built: the selection for a feature service is resolved once per
// repo, not per request (serving asks the same service on every call).
const plans = new WeakMap<FeatureRepo, Map<string, ReadPlan>>();

function planFor(repo: FeatureRepo, req: OnlineFeaturesRequest): ReadPlan {
  const full = req.full_feature_names ?? false;
  const key = JSON.stringify([req.features ?? null, req.feature_service ?? null, full]);
  let byKey = plans.get(repo);
  if (!byKey) {
    byKey = new Map();
    plans.set(repo, byKey);
  }
  const cached = byKey.get(key);
  if (cached) return cached;
  const selection = selectFeatures(repo, {
    ...(req.features ? { features: req.features } : {}),
    ...(req.feature_service !== undefined ? { featureService: req.feature_service } : {}),
    fullFeatureNames: full,
  });
  const attrsOf = new Map<ResolvedView, string[]>();
  for (const view of selection.views) {
    const attrs = new Set<string>();
    for (const f of selection.features) {
      if (f.kind === 'onDemand' || f.view !== view) continue;
      // The version attribute each kind's event timestamp comes from (see serveCell).
      if (f.kind === 'feature') {
        attrs.add('ets');
        attrs.add(featureAttr(f.name));
      } else if (f.kind === 'aggregation') {
        attrs.add('asof');
        attrs.add(WINDOW_TS);
        if (f.agg.function === 'last') attrs.add(WINDOW_CTS);
        if (f.agg.column) attrs.add(windowAttr(f.agg.column));
      }
    }
    attrsOf.set(view, [...attrs]);
  }
  const plan: ReadPlan = {
    selection,
    served: selection.features.flatMap((f) =>
      f.kind === 'onDemand' ? [] : [{ f, attr: f.kind === 'feature' ? featureAttr(f.name) : '' }],
    ),
    attrsOf,
    visible: selection.features.filter((f) => !f.hidden),
    joinKeys: [...new Set(selection.views.flatMap((v) => v.joinKeys.map((k) => k.name)))],
  };
  // Bounded: ad-hoc feature lists are caller-chosen, so the cache forgets rather than grows.
  if (byKey.size >= 256) byKey.clear();
  byKey.set(key, plan);
  return plan;
}

/**
 * One cell of a stored feature into its output column (value, status, event time); returns
 * the value. Written in place: this runs per entity and feature on serving's path.
 */
function serveCell(
  s: ServedFeature,
  item: Record<string, unknown> | undefined,
  now: number,
  iso: (micros: number) => string,
  col: OutputColumn,
): unknown {
  const f = s.f;
  if (f.kind === 'aggregation') {
    const value = aggregateAt(item, f.agg, now);
    col.values.push(value);
    col.statuses.push(!item ? 'NOT_FOUND' : value === null ? 'NULL_VALUE' : 'PRESENT');
    col.event_timestamps.push(item ? iso(Number(item['asof'])) : null);
    return value;
  }
  if (!item) {
    col.values.push(null);
    col.statuses.push('NOT_FOUND');
    col.event_timestamps.push(null);
    return null;
  }
  const ets = Number(item['ets']);
  col.event_timestamps.push(iso(ets));
  // The training set's rule: valid while event time >= t - ttl (inclusive).
  if (f.view.ttlSeconds > 0 && ets < now - f.view.ttlSeconds * 1e6) {
    col.values.push(null);
    col.statuses.push('OUTSIDE_MAX_AGE');
    return null;
  }
  const value = item[s.attr] ?? null;
  col.values.push(value);
  col.statuses.push(value === null ? 'NULL_VALUE' : 'PRESENT');
  return value;
}

/** Validates the entity columns: every needed join key present with its type, equal lengths, not too many. */
function checkEntities(
  deps: OnlineDeps,
  selection: FeatureSelection,
  entities: Readonly<Record<string, readonly unknown[]>>,
): number {
  const lengths = Object.entries(entities).map(([k, v]) => [k, Array.isArray(v) ? v.length : -1] as const);
  for (const [k, n] of lengths) {
    if (n < 0) throw new InvalidParameterError(`entities.${k} must be a list of values, one per entity row`);
  }
  const rows = lengths[0]?.[1] ?? 0;
  const odd = lengths.find(([, n]) => n !== rows);
  if (odd) {
    throw new InvalidParameterError(
      `entities.${odd[0]} has ${odd[1]} value(s) but entities.${lengths[0]?.[0]} has ${rows}; every column needs one value per entity row`,
    );
  }
  const max = deps.maxEntities ?? MAX_ENTITIES;
  if (rows > max) {
    throw new InvalidParameterError(
      `too many entity rows: ${rows}; at most ${max} per request, split the request`,
    );
  }
  if (rows === 0) throw new InvalidParameterError('entities: pass at least one entity row');
  for (const view of selection.views) {
    for (const key of view.joinKeys) {
      const values = entities[key.name];
      if (!values) {
        throw new InvalidParameterError(
          `entities: missing join key '${key.name}' needed by feature view '${view.def.name}'; pass entities.${key.name} = [...]`,
        );
      }
      for (const [j, v] of values.entries()) checkKeyValue(key, v, j);
    }
  }
  for (const o of selection.onDemandViews) {
    for (const r of deps.repo.onDemand.get(o)?.def.request ?? []) {
      if (!entities[r.name]) {
        throw new InvalidParameterError(
          `entities: missing request column '${r.name}' needed by on-demand feature view '${o}'`,
        );
      }
    }
  }
  return rows;
}
