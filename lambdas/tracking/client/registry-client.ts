import { InvalidStateError } from '../../platform/errors';
import { collectPages, filterLiteral } from './paging';
import { MlflowApiError, type MlflowCall } from './rest';
import { keyValues } from './tracking-client';
import type { ModelVersion, RegisteredModel, Stage } from './types';

/** The registry answers at most 1,000 items per page. */
const REGISTRY_PAGE = 1000;

/** Filter and order of a registry search; paging is the client's business. */
export interface RegistryQuery {
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
}

/**
 * Typed calls to MLflow's model registry: registered models, versions, stages and aliases.
 *
 * @example
 * const registry = new RegistryClient(call);
 * await registry.transitionStage('churn', '3', 'Production', { archiveExisting: true });
 * await registry.setAlias('churn', 'champion', '3');
 */
export class RegistryClient {
  constructor(private readonly call: MlflowCall) {}

  /** Creates a registered model, or answers the existing one with that name. */
  async ensureModel(name: string, opts: { description?: string; tags?: Record<string, string> } = {}) {
    try {
      return (
        await this.call('POST', 'registered-models/create', {
          name,
          description: opts.description,
          tags: keyValues(opts.tags ?? {}),
        })
      ).registered_model as RegisteredModel;
    } catch (err) {
      if (err instanceof MlflowApiError && err.wireCode === 'RESOURCE_ALREADY_EXISTS')
        return this.getModel(name);
      throw err;
    }
  }

  /** A registered model with its latest version per stage and its aliases. */
  async getModel(name: string): Promise<RegisteredModel> {
    return (await this.call('GET', 'registered-models/get', { name })).registered_model;
  }

  /** Registered models matching a filter (`name LIKE 'churn%'`), every page read. */
  async searchModels(q: RegistryQuery = {}, opts: { pageSize?: number } = {}): Promise<RegisteredModel[]> {
    return collectPages(
      async (token, size) => {
        const r = await this.call('POST', 'registered-models/search', {
          filter: q.filter,
          order_by: q.orderBy,
          max_results: size,
          page_token: token,
        });
        return { items: r.registered_models ?? [], next: r.next_page_token };
      },
      { pageSize: opts.pageSize ?? REGISTRY_PAGE, max: q.maxResults },
    );
  }

  /** Model versions matching a filter (`name = 'churn'`, `run_id = '...'`), every page read. */
  async searchVersions(q: RegistryQuery = {}, opts: { pageSize?: number } = {}): Promise<ModelVersion[]> {
    return collectPages(
      async (token, size) => {
        const r = await this.call('GET', 'model-versions/search', {
          filter: q.filter,
          order_by: q.orderBy,
          max_results: size,
          page_token: token,
        });
        return { items: r.model_versions ?? [], next: r.next_page_token };
      },
      { pageSize: opts.pageSize ?? REGISTRY_PAGE, max: q.maxResults },
    );
  }

  /** Every version of one model. */
  async listVersions(name: string): Promise<ModelVersion[]> {
    return this.searchVersions({ filter: `name = ${filterLiteral(name)}` });
  }

  /** One model version. */
  async getVersion(name: string, version: string): Promise<ModelVersion> {
    return (await this.call('GET', 'model-versions/get', { name, version })).model_version;
  }

  /** The latest version in each of the given stages (all stages when none given). */
  async latestVersions(name: string, stages?: Stage[]): Promise<ModelVersion[]> {
    return (
      (await this.call('POST', 'registered-models/get-latest-versions', { name, stages })).model_versions ??
      []
    );
  }

  /**
   * Registers a version of a model from `source` (`runs:/<run>/model`, ...) and waits
   * while the registry checks that it loads; a FAILED_REGISTRATION is an error with the
   * registry's reason.
   */
  async createVersion(args: {
    name: string;
    source: string;
    runId?: string;
    tags?: Record<string, string>;
    description?: string;
  }): Promise<ModelVersion> {
    let v: ModelVersion = (
      await this.call('POST', 'model-versions/create', {
        name: args.name,
        source: args.source,
        run_id: args.runId,
        tags: keyValues(args.tags ?? {}),
        description: args.description,
      })
    ).model_version;
    for (let i = 0; v.status === 'PENDING_REGISTRATION' && i < 120; i++) {
      await new Promise((r) => setTimeout(r, 250));
      v = await this.getVersion(args.name, v.version);
    }
    if (v.status !== 'READY')
      throw new InvalidStateError(
        `model '${args.name}' version ${v.version} is ${v.status}: ${v.status_message}`,
      );
    return v;
  }

  /** Moves a version to a stage; `archiveExisting` archives the others already in it. */
  async transitionStage(
    name: string,
    version: string,
    stage: Stage,
    opts: { archiveExisting?: boolean } = {},
  ): Promise<ModelVersion> {
    return (
      await this.call('POST', 'model-versions/transition-stage', {
        name,
        version,
        stage,
        archive_existing_versions: opts.archiveExisting ?? false,
      })
    ).model_version;
  }

  /** Points an alias at a version (moving it if it pointed elsewhere). */
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', 'registered-models/alias', { name, alias, version });
  }

  /** Removes an alias. */
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.call('DELETE', 'registered-models/alias', { name, alias });
  }

  /** The version an alias points at. */
  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return (await this.call('GET', 'registered-models/alias', { name, alias })).model_version;
  }
}
