import { z } from 'zod';
import { awsClients } from '../../platform/aws-clients';
import { baseConfigSchema, loadConfig } from '../../platform/config';
import { InvalidStateError } from '../../platform/errors';
import { bind } from '../../platform/http/route';
import { httpApi } from '../../platform/http/router';
import { loadRegistryRepo } from '../definitions/feature-registry-store';
import type { FeatureRepo } from '../definitions/repo';
import { DuckDbEngine } from '../offline/duckdb-engine';
import { DynamoOnlineTable } from './dynamo-online-table';
import { pushRows } from './push';
import { getOnlineFeatures } from './retrieval';
import { getOnlineFeaturesRoute, pushRoute } from './routes';

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

/** The online feature API: get-online-features and push. */
export const handler = httpApi([
  bind(getOnlineFeaturesRoute, async (req) => getOnlineFeatures({ repo: await repo(), table }, req)),
  bind(pushRoute, async (req) => {
    engine ??= DuckDbEngine.create({ threads: 1 });
    return pushRows(
      { repo: await repo(), engine: await engine, store, bucket: config.FEATURES_BUCKET, table },
      req,
    );
  }),
]);
