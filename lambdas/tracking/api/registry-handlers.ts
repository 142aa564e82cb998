import { bind, type RouteBinding } from '../../platform/http/route';
import { IDEMPOTENCY_HEADER, onceFor } from '../domain/idempotency';
import { type ModelVersion, type RegisteredModel, tagList } from '../domain/model';
import { latestPerStage, type RegistryService } from '../domain/registry';
import { type RegistrySearchRequest, searchModels, searchVersions } from '../domain/registry-search';
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

/** Binds the registry endpoints. */
export function registryBindings(registry: RegistryService, store: TrackingStore): RouteBinding[] {
  const searchModelsJson = async (req: RegistrySearchRequest) => {
    const { items, next } = await searchModels(registry, req);
    const out = await Promise.all(
      items.map(async (m) => modelJson(m, latestPerStage(await registry.listVersions(m.name)))),
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
    bind(g.searchModels, searchModelsJson),
    bind(g.searchModelsPost, searchModelsJson),
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
      const { items, next } = await searchVersions(registry, req);
      return { model_versions: items.map((v) => versionJson(v)), next_page_token: next };
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
