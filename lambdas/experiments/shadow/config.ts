import { z } from 'zod';
import type { ObjectStore } from '../../platform/object-store';
import { SHADOW_PREFIX } from './layout';

/** What a shadow is: the version scored on a copy of live traffic, and how it is judged. */
export const ShadowSpecSchema = z.strictObject({
  version: z.string().regex(/^\d+$/, 'a registered version number, e.g. "4"'),
  /** Share of live requests scored by the shadow, decided per request id. @default 1 */
  sample_rate: z.number().gt(0).lte(1).default(1),
  /** Regression: two predictions agree when |live - shadow| <= tolerance. @default 0.01 */
  tolerance: z.number().nonnegative().default(0.01),
  /** The report flags divergence when more than this share of rows disagree (or fail). @default 0.05 */
  divergence_threshold: z.number().min(0).max(1).default(0.05),
});

export type ShadowSpec = z.infer<typeof ShadowSpecSchema>;

/** A model's shadow as stored and answered. */
export interface ShadowConfig extends ShadowSpec {
  readonly model: string;
  readonly created_at: string;
}

/** Where a model's shadow configuration lives: one JSON object in the monitoring bucket. */
export function configKey(model: string): string {
  return `${SHADOW_PREFIX}/config/${encodeURIComponent(model)}.json`;
}

/**
 * The shadow configuration per model in the object store. The scoring function reads it
 * through {@link CachedShadowConfig}, so a change reaches it within the cache's lifetime.
 *
 * @example
 * const store = new ShadowConfigStore(objectStore, 'monitoring');
 * await store.put({ model: 'churn', version: '4', sample_rate: 1, tolerance: 0.01, divergence_threshold: 0.05, created_at });
 */
export class ShadowConfigStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
  ) {}

  async get(model: string): Promise<ShadowConfig | undefined> {
    const bytes = await this.store.get(this.bucket, configKey(model));
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as ShadowConfig) : undefined;
  }

  async put(config: ShadowConfig): Promise<void> {
    await this.store.put(this.bucket, configKey(config.model), JSON.stringify(config), {
      contentType: 'application/json',
    });
  }

  async delete(model: string): Promise<void> {
    await this.store.delete(this.bucket, configKey(model));
  }
}

/** A model's shadow configuration read at most once per `ttlMs` (absence is cached too). */
export class CachedShadowConfig {
  private readonly cache = new Map<string, { at: number; config: ShadowConfig | undefined }>();

  constructor(
    private readonly store: Pick<ShadowConfigStore, 'get'>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(model: string): Promise<ShadowConfig | undefined> {
    const hit = this.cache.get(model);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.config;
    const config = await this.store.get(model);
    this.cache.set(model, { at: this.now(), config });
    return config;
  }
}
