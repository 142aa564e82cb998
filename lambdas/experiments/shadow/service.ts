import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import type { RegistryStore } from '../../tracking/store/registry-store';
import { type ShadowConfig, ShadowConfigStore, type ShadowSpec } from './config';
import type { ShadowTask } from './pairs';
import { type ShadowReport, shadowReport } from './report';
import { readPairs } from './store';

export interface ShadowServiceDeps {
  readonly store: ObjectStore;
  /** The monitoring bucket (configuration and pairs). */
  readonly bucket: string;
  readonly registry: Pick<RegistryStore, 'getVersion'>;
  readonly now?: () => Date;
}

/** The report as the API answers it: the model and the first day read, then the comparison. */
export type ShadowReportAnswer = { model: string; since: string | null } & ShadowReport;

/**
 * Shadow mode's configuration and report: what the API and the CLI call.
 *
 * @example
 * const service = new ShadowService({ store, bucket: 'monitoring', registry });
 * await service.set('churn', { version: '4', sample_rate: 1, tolerance: 0.01, divergence_threshold: 0.05 });
 */
export class ShadowService {
  private readonly configs: ShadowConfigStore;

  constructor(private readonly deps: ShadowServiceDeps) {
    this.configs = new ShadowConfigStore(deps.store, deps.bucket);
  }

  /** Sets (or replaces) the model's shadow; the version must be registered. */
  async set(model: string, spec: ShadowSpec): Promise<ShadowConfig> {
    const mv = await this.deps.registry.getVersion(model, spec.version);
    if (!mv) {
      throw new NotFoundError(
        `Model '${model}' has no version ${spec.version}: register it before shadowing it`,
      );
    }
    const config: ShadowConfig = {
      model,
      ...spec,
      created_at: (this.deps.now?.() ?? new Date()).toISOString(),
    };
    await this.configs.put(config);
    return config;
  }

  async get(model: string): Promise<ShadowConfig> {
    const config = await this.configs.get(model);
    if (!config)
      throw new NotFoundError(`Model '${model}' has no shadow: POST /v1/models/${model}/shadow sets one`);
    return config;
  }

  async delete(model: string): Promise<{ model: string; deleted: boolean }> {
    const existed = await this.configs.get(model);
    if (existed) await this.configs.delete(model);
    return { model, deleted: Boolean(existed) };
  }

  /** The shadow version (the configured one unless named) against live, from `since` on. */
  async report(
    model: string,
    options: { since?: string; version?: string; tolerance?: number; threshold?: number } = {},
  ): Promise<ShadowReportAnswer> {
    const config = await this.configs.get(model);
    const version = options.version ?? config?.version;
    if (!version) {
      throw new InvalidParameterError(
        `Model '${model}' has no shadow now: name the shadow version to report on with version=`,
      );
    }
    const files = await readPairs(this.deps.store, this.deps.bucket, model, version, options.since);
    const same = config?.version === version ? config : undefined;
    // The task is what the shadow's signature said when it scored; a failed load said nothing.
    const task: ShadowTask =
      files.find((f) => f.pairs.some((p) => p.shadow_prediction !== null))?.task ??
      files[0]?.task ??
      'classification';
    const report = shadowReport(
      files.flatMap((f) => f.pairs),
      {
        task,
        tolerance: options.tolerance ?? same?.tolerance ?? 0.01,
        divergenceThreshold: options.threshold ?? same?.divergence_threshold ?? 0.05,
      },
    );
    return { model, since: options.since ?? null, ...report, shadow_version: version };
  }
}
