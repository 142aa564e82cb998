import { InvalidParameterError } from '../../platform/errors';
import { bind, type RouteBinding } from '../../platform/http/route';
import { MODEL_ATTRIBUTES, matches, parseFilter, type Searchable } from '../domain/filter';
import { IDEMPOTENCY_HEADER, onceFor } from '../domain/idempotency';
import { type ModelVersion, type RegisteredModel, tagList } from '../domain/model';
import { comparatorFor, parseOrderBy } from '../domain/order-by';
import { decodePageToken, encodePageToken, queryFingerprint } from '../domain/page-token';
import { latestPerStage, type RegistryService } from '../domain/registry';
import type { TrackingStore } from '../store/tracking-store';
import * as g from './registry-routes';
import { guardText } from './text-guard';

/** A version as MLflow's JSON, with the aliases that point at it. */
export function versionJson(v: ModelVersion, aliases: Readonly<Record<string, string>> = {}) {
  return {
    ...v,
    tags: tagList(v.tags),
    aliases: Object.entries(aliases)
      .filter(([, n]) => n === v.version)
      .map(([a]) => a),
  };
}

/** A registered model as MLflow's JSON. */
export function modelJson(m: RegisteredModel, latest: readonly ModelVersion[]) {
  return {
    ...m,
    tags: tagList(m.tags),
    aliases: Object.entries(m.aliases).map(([alias, version]) => ({ alias, version })),
    latest_versions: latest.map((v) => versionJson(v, m.aliases)),
  };
}

function page<T>(items: T[], max: number | undefined, token: string | undefined, fp: string) {
  const limit = max ?? 100;
  if (limit < 1 || limit > 1000) {
    throw new InvalidParameterError(`Invalid value ${limit} for parameter 'max_results': use 1 to 1000.`);
  }
  const offset = decodePageToken(token, fp)?.offset ?? 0;
  const more = offset + limit < items.length;
  return {
    items: items.slice(offset, offset + limit),
    next: more ? encodePageToken({ offset: offset + limit }, fp) : undefined,
  };
}

function searchable(attrs: Record<string, unknown>, tags: Readonly<Record<string, string>>): Searchable {
  return {
    metric: () => undefined,
    param: () => undefined,
    tag: (k) => tags[k],
    attribute: (k) => attrs[k] as string | number | undefined,
  };
}

/** Binds the registry endpoints. */
export function registryBindings(registry: RegistryService, store: TrackingStore): RouteBinding[] {
  const searchModels = async (req: {
    filter?: string;
    max_results?: number;
    order_by?: string[];
    page_token?: string;
  }) => {
    const clauses = parseFilter(req.filter, MODEL_ATTRIBUTES);
    const order = parseOrderBy(req.order_by, MODEL_ATTRIBUTES);
    const models = (await registry.listModels())
      .map((m) => ({ m, ...searchable(m as unknown as Record<string, unknown>, m.tags) }))
      .filter((e) => matches(clauses, e));
    models.sort(comparatorFor(order, (a, b) => (a.m.name < b.m.name ? -1 : a.m.name > b.m.name ? 1 : 0)));
    const { items, next } = page(
      models,
      req.max_results,
      req.page_token,
      queryFingerprint(['models', req.filter ?? '', req.order_by ?? []]),
    );
    const out = await Promise.all(
      items.map(async (e) => modelJson(e.m, latestPerStage(await registry.listVersions(e.m.name)))),
    );
    return { registered_models: out, next_page_token: next };
  };
  return guardText([
    bind(g.createModel, async (req, ctx) => ({
      registered_model: modelJson(await registry.createModel(req, ctx.caller), []),
    })),
    bind(g.getModel, async (req) => {
      const { model, latest } = await registry.getModel(req.name);
      return { registered_model: modelJson(model, latest) };
    }),
    bind(g.renameModel, async (req) => {
      const model = await registry.renameModel(req.name, req.new_name);
      return { registered_model: modelJson(model, latestPerStage(await registry.listVersions(model.name))) };
    }),
    bind(g.updateModel, async (req) => {
      const model = await registry.updateModel(req.name, req.description);
      return { registered_model: modelJson(model, latestPerStage(await registry.listVersions(model.name))) };
    }),
    bind(g.deleteModel, async (req) => {
      await registry.deleteModel(req.name);
      return {};
    }),
    bind(g.searchModels, searchModels),
    bind(g.searchModelsPost, searchModels),
    bind(g.getLatestVersions, async (req) => {
      const { model } = await registry.getModel(req.name);
      return {
        model_versions: (await registry.latestVersions(req.name, req.stages)).map((v) =>
          versionJson(v, model.aliases),
        ),
      };
    }),
    bind(g.getLatestVersionsGet, async (req) => {
      const { model } = await registry.getModel(req.name);
      return {
        model_versions: (await registry.latestVersions(req.name, req.stages)).map((v) =>
          versionJson(v, model.aliases),
        ),
      };
    }),
    bind(g.setModelTag, async (req) => {
      await registry.setModelTag(req.name, req.key, req.value);
      return {};
    }),
    bind(g.deleteModelTag, async (req) => {
      await registry.deleteModelTag(req.name, req.key);
      return {};
    }),
    bind(g.setAlias, async (req, ctx) => {
      await registry.setAlias(req.name, req.alias, req.version, ctx.caller);
      return {};
    }),
    bind(g.deleteAlias, async (req, ctx) => {
      await registry.deleteAlias(req.name, req.alias, ctx.caller);
      return {};
    }),
    bind(g.getByAlias, async (req) => {
      const v = await registry.getByAlias(req.name, req.alias);
      const { model } = await registry.getModel(req.name);
      return { model_version: versionJson(v, model.aliases) };
    }),
    bind(g.createVersion, async (req, ctx) => {
      const key = ctx.headers[IDEMPOTENCY_HEADER];
      const v = await onceFor(
        store,
        { endpoint: 'model-versions/create', caller: ctx.caller, key, request: req },
        () => registry.createVersion(req, ctx.caller),
      );
      return { model_version: versionJson(v) };
    }),
    bind(g.getVersion, async (req) => {
      const v = await registry.getVersion(req.name, req.version);
      const { model } = await registry.getModel(req.name);
      return { model_version: versionJson(v, model.aliases) };
    }),
    bind(g.updateVersion, async (req) => ({
      model_version: versionJson(await registry.updateVersion(req.name, req.version, req.description)),
    })),
    bind(g.deleteVersion, async (req) => {
      await registry.deleteVersion(req.name, req.version);
      return {};
    }),
    bind(g.searchVersions, async (req) => {
      const clauses = parseFilter(req.filter, MODEL_ATTRIBUTES);
      const order = parseOrderBy(req.order_by, MODEL_ATTRIBUTES);
      const nameClause = clauses.find((c) => c.type === 'attribute' && c.key === 'name' && c.op === '=');
      const names = nameClause
        ? [String(nameClause.value)]
        : (await registry.listModels()).map((m) => m.name);
      const versions = (await Promise.all(names.map((n) => registry.listVersions(n)))).flat();
      const found = versions
        .map((v) => ({ v, ...searchable(v as unknown as Record<string, unknown>, v.tags) }))
        .filter((e) => matches(clauses, e));
      found.sort(
        comparatorFor(order, (a, b) =>
          a.v.name === b.v.name ? Number(b.v.version) - Number(a.v.version) : a.v.name < b.v.name ? -1 : 1,
        ),
      );
      const { items, next } = page(
        found,
        req.max_results,
        req.page_token,
        queryFingerprint(['versions', req.filter ?? '', req.order_by ?? []]),
      );
      return { model_versions: items.map((e) => versionJson(e.v)), next_page_token: next };
    }),
    bind(g.getDownloadUri, async (req) => ({
      artifact_uri: (await registry.getVersion(req.name, req.version)).source,
    })),
    bind(g.transitionStage, async (req, ctx) => {
      const v = await registry.transition(req, ctx.caller);
      return { model_version: versionJson(v) };
    }),
    bind(g.setVersionTag, async (req) => {
      await registry.setVersionTag(req.name, req.version, req.key, req.value);
      return {};
    }),
    bind(g.deleteVersionTag, async (req) => {
      await registry.deleteVersionTag(req.name, req.version, req.key);
      return {};
    }),
    bind(g.listChanges, async (req) => ({ changes: await registry.changes(req.name) })),
  ]);
}
