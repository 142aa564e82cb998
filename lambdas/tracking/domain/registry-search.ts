import { InvalidParameterError } from '../../platform/errors';
import { MODEL_ATTRIBUTES, matches, parseFilter, type Searchable } from './filter';
import type { ModelVersion, RegisteredModel } from './model';
import { comparatorFor, parseOrderBy } from './order-by';
import { decodePageToken, encodePageToken, queryFingerprint } from './page-token';
import type { RegistryService } from './registry';

/** A registered-model or model-version search: MLflow's filter, order and paging. */
export interface RegistrySearchRequest {
  filter?: string;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}

/** A page of results and the token of the next one. */
export interface RegistryPage<T> {
  readonly items: T[];
  readonly next?: string;
}

/** A model or version seen through the filter's lookups: its attributes and tags. */
function searchable(attrs: object, tags: Readonly<Record<string, string>>): Searchable {
  return {
    metric: () => undefined,
    param: () => undefined,
    tag: (k) => tags[k],
    attribute: (k) => (attrs as Record<string, string | number | undefined>)[k],
  };
}

function page<T>(items: T[], req: RegistrySearchRequest, fp: string): RegistryPage<T> {
  const limit = req.max_results ?? 100;
  if (limit < 1 || limit > 1000) {
    throw new InvalidParameterError(`Invalid value ${limit} for parameter 'max_results': use 1 to 1000.`);
  }
  const offset = decodePageToken(req.page_token, fp)?.offset ?? 0;
  const more = offset + limit < items.length;
  return {
    items: items.slice(offset, offset + limit),
    ...(more ? { next: encodePageToken({ offset: offset + limit }, fp) } : {}),
  };
}

/**
 * Registered models matching the filter, by name unless `order_by` says otherwise.
 *
 * @example
 * const { items, next } = await searchModels(registry, { filter: "name LIKE 'churn%'", max_results: 10 });
 */
export async function searchModels(
  registry: Pick<RegistryService, 'listModels'>,
  req: RegistrySearchRequest,
): Promise<RegistryPage<RegisteredModel>> {
  const clauses = parseFilter(req.filter, MODEL_ATTRIBUTES);
  const order = parseOrderBy(req.order_by, MODEL_ATTRIBUTES);
  const models = (await registry.listModels())
    .map((m) => ({ m, ...searchable(m, m.tags) }))
    .filter((e) => matches(clauses, e));
  models.sort(comparatorFor(order, (a, b) => (a.m.name < b.m.name ? -1 : a.m.name > b.m.name ? 1 : 0)));
  const { items, next } = page(
    models,
    req,
    queryFingerprint(['models', req.filter ?? '', req.order_by ?? []]),
  );
  return { items: items.map((e) => e.m), ...(next ? { next } : {}) };
}

/**
 * Model versions matching the filter (one model's when it has `name = '...'`), by name, then
 * newest version first, unless `order_by` says otherwise.
 *
 * @example
 * const { items } = await searchVersions(registry, { filter: "name = 'churn'" });
 */
export async function searchVersions(
  registry: Pick<RegistryService, 'listModels' | 'listVersions'>,
  req: RegistrySearchRequest,
): Promise<RegistryPage<ModelVersion>> {
  const clauses = parseFilter(req.filter, MODEL_ATTRIBUTES);
  const order = parseOrderBy(req.order_by, MODEL_ATTRIBUTES);
  const nameClause = clauses.find((c) => c.type === 'attribute' && c.key === 'name' && c.op === '=');
  const names = nameClause ? [String(nameClause.value)] : (await registry.listModels()).map((m) => m.name);
  const versions = (await Promise.all(names.map((n) => registry.listVersions(n)))).flat();
  const found = versions.map((v) => ({ v, ...searchable(v, v.tags) })).filter((e) => matches(clauses, e));
  found.sort(
    comparatorFor(order, (a, b) =>
      a.v.name === b.v.name ? Number(b.v.version) - Number(a.v.version) : a.v.name < b.v.name ? -1 : 1,
    ),
  );
  const { items, next } = page(
    found,
    req,
    queryFingerprint(['versions', req.filter ?? '', req.order_by ?? []]),
  );
  return { items: items.map((e) => e.v), ...(next ? { next } : {}) };
}
