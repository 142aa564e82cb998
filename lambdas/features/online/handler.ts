import { z } from 'zod';
import { awsClients } from '../../platform/aws-clients';
import { baseConfigSchema, loadConfig } from '../../platform/config';
import { InvalidStateError, NotFoundError } from '../../platform/errors';
import { bind } from '../../platform/http/route';
import { httpApi } from '../../platform/http/router';
import { loadRegistryRepo, readRegistry } from '../definitions/feature-registry-store';
import type { FeatureRepo } from '../definitions/repo';
import { DuckDbEngine } from '../offline/duckdb-engine';
import { DynamoMaterializationState } from './dynamo-materialization-state';
import { DynamoOnlineTable } from './dynamo-online-table';
import { materializationSummary } from './online-table';
import { pushRows } from './push';
import { getOnlineFeatures } from './retrieval';
import { featureRegistryRoute, getOnlineFeaturesRoute, pushRoute } from './routes';

// Composition root: configuration once at cold start; the adapters built once.
const config = loadConfig(
  baseConfigSchema.extend({
    FEATURES_BUCKET: z.string().min(1),
    ONLINE_TABLE: z.string().min(1),
    /** Seconds the registry is cached (Feast: 600); a deploy or apply is seen within this time. */
    REGISTRY_CACHE_SECONDS: z.coerce.number().min(0).default(30),
  }),
);
const store = awsClients().objectStore;
const table = new DynamoOnlineTable(awsClients().dynamodb, config.ONLINE_TABLE);
const states = new DynamoMaterializationState(awsClients().dynamodb, config.ONLINE_TABLE);
let cached: { repo: FeatureRepo; at: number } | undefined;
// Only pushes need DuckDB: created on the first one.
let engine: Promise<DuckDbEngine> | undefined;

async function repo(): Promise<FeatureRepo> {
  if (cached && Date.now() - cached.at < config.REGISTRY_CACHE_SECONDS * 1000) return cached.repo;
  const r = await loadRegistryRepo(store, config.FEATURES_BUCKET);
  if (!r)
    throw new InvalidStateError('no feature registry yet: run `mlops features apply --repo <dir>` first');
  cached = { repo: r, at: Date.now() };
  return r;
}

/** The online feature API: get-online-features, push, and the registry with each view's freshness. */
export const handler = httpApi([
  bind(getOnlineFeaturesRoute, async (req) => getOnlineFeatures({ repo: await repo(), table }, req)),
  bind(pushRoute, async (req) => {
    engine ??= DuckDbEngine.create({ threads: 1 });
    return pushRows(
      { repo: await repo(), engine: await engine, store, bucket: config.FEATURES_BUCKET, table },
      req,
    );
  }),
  bind(featureRegistryRoute, async () => {
    const doc = await readRegistry(store, config.FEATURES_BUCKET);
    if (!doc)
      throw new NotFoundError('no feature registry yet: run `mlops features apply --repo <dir>` first');
    const views = doc.definitions.featureViews.map((v) => v.name);
    return {
      serial: doc.serial,
      applied_at: doc.appliedAt,
      definitions: doc.definitions,
      materialization: await Promise.all(
        views.map(async (view) => ({
          view,
          ...materializationSummary(await states.getState(view), Date.now()),
        })),
      ),
    };
  }),
]);
