import { awsClients } from '../../platform/aws-clients';
import { InvalidStateError } from '../../platform/errors';
import { bind } from '../../platform/http/route';
import { httpApi } from '../../platform/http/router';
import { DuckDbEngine } from '../duckdb-engine';
import { loadRegistryRepo } from '../registry-store';
import type { FeatureRepo } from '../repo';
import { DynamoOnlineTable } from './dynamo-online-table';
import { pushRows } from './push';
import { getOnlineFeatures } from './retrieval';
import { getOnlineFeaturesRoute, pushRoute } from './routes';

const BUCKET = process.env.FEATURES_BUCKET ?? 'features';
const TABLE = process.env.ONLINE_TABLE ?? 'features-online';
/** Seconds the registry is cached (Feast: 600); a deploy or apply is seen within this time. */
const REGISTRY_TTL_MS = Number(process.env.REGISTRY_CACHE_SECONDS ?? '30') * 1000;

let cached: { repo: FeatureRepo; at: number } | undefined;
let engine: Promise<DuckDbEngine> | undefined;

async function repo(): Promise<FeatureRepo> {
  if (cached && Date.now() - cached.at < REGISTRY_TTL_MS) return cached.repo;
  const r = await loadRegistryRepo(awsClients().objectStore, BUCKET);
  if (!r)
    throw new InvalidStateError('no feature registry yet: run `mlops features apply --repo <dir>` first');
  cached = { repo: r, at: Date.now() };
  return r;
}

const table = () => new DynamoOnlineTable(awsClients().dynamodb, TABLE);

/** The online feature API: get-online-features and push. */
export const handler = httpApi([
  bind(getOnlineFeaturesRoute, async (req) => getOnlineFeatures({ repo: await repo(), table: table() }, req)),
  bind(pushRoute, async (req) => {
    engine ??= DuckDbEngine.create({ threads: 1 });
    return pushRows(
      {
        repo: await repo(),
        engine: await engine,
        store: awsClients().objectStore,
        bucket: BUCKET,
        table: table(),
      },
      req,
    );
  }),
]);
