import { ExperimentArms } from '../experiments/serving-arms';
import { DynamoExperimentStore } from '../experiments/store/dynamo-experiment-store';
import { loadRegistryRepo } from '../features/definitions/feature-registry-store';
import type { FeatureRepo } from '../features/definitions/repo';
import { DynamoOnlineTable } from '../features/online/dynamo-online-table';
import { getOnlineFeatures } from '../features/online/retrieval';
import { awsClients } from '../platform/aws-clients';
import { InvalidStateError } from '../platform/errors';
import { httpApi } from '../platform/http/router';
import { LocalArtifactSigner } from '../tracking/artifacts/local-signer';
import { S3ArtifactSigner } from '../tracking/artifacts/s3-signer';
import { DynamoRegistryStore } from '../tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../tracking/store/dynamo-tracking-store';
import { servingBindings } from './api/bindings';
import { PredictionLog, sinkFor } from './domain/prediction-log';
import { loadServedModel, ModelHost, type ModelPin } from './domain/served-model';
import { createOnnxScorer } from './inference/session';
import { sageMakerFront } from './sagemaker/front';

const env = process.env;
const TABLE = env.TABLE ?? 'tracking';
const ARTIFACTS_BUCKET = env.ARTIFACTS_BUCKET ?? 'artifacts';
const FEATURES_BUCKET = env.FEATURES_BUCKET ?? 'features';
const ONLINE_TABLE = env.ONLINE_TABLE ?? 'features-online';
const REGISTRY_TTL_MS = Number(env.REGISTRY_CACHE_SECONDS ?? '30') * 1000;

/** The version this function serves: MODEL_VERSION, else MODEL_ALIAS, else the Production version. */
export function pinFromEnv(e: NodeJS.ProcessEnv): ModelPin {
  const name = e.MODEL_NAME;
  if (!name) throw new Error('MODEL_NAME is not set: the serving function needs the model it serves');
  if (e.MODEL_VERSION) return { name, version: e.MODEL_VERSION };
  if (e.MODEL_ALIAS) return { name, alias: e.MODEL_ALIAS };
  return { name, stage: 'Production' };
}

const clients = awsClients();
const pin = pinFromEnv(env);
const files = {
  registry: new DynamoRegistryStore(clients.dynamodb, TABLE),
  runs: createDynamoTrackingStore(clients.dynamodb, TABLE),
  store: clients.objectStore,
  bucket: ARTIFACTS_BUCKET,
};
// servingBackend 'sagemaker': the model call goes to the endpoint (SAGEMAKER_ENDPOINT).
const sagemaker = sageMakerFront(env);
const loaderDeps = {
  ...files,
  createScorer: sagemaker?.createScorer ?? createOnnxScorer,
  variant: env.SERVING_VARIANT ?? env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
  ...(env.FEATURE_SERVICE ? { defaultFeatureService: env.FEATURE_SERVICE } : {}),
};
const host = new ModelHost(() => loadServedModel(loaderDeps, pin), Number(env.MODEL_RETRY_MS ?? '1000'));
// Cold start: download the model and create its session before the first request.
host.start();

let repoCache: { repo: FeatureRepo; at: number } | undefined;
async function featureRepo(): Promise<FeatureRepo> {
  if (repoCache && Date.now() - repoCache.at < REGISTRY_TTL_MS) return repoCache.repo;
  const repo = await loadRegistryRepo(clients.objectStore, FEATURES_BUCKET);
  if (!repo)
    throw new InvalidStateError('no feature registry yet: run `mlops features apply --repo <dir>` first');
  repoCache = { repo, at: Date.now() };
  return repo;
}

// A/B tests: the served model's running experiment, read at most once per EXPERIMENT_CACHE_SECONDS.
const experiments = env.EXPERIMENTS_TABLE
  ? new DynamoExperimentStore(clients.dynamodb, env.EXPERIMENTS_TABLE)
  : undefined;
const arms =
  experiments &&
  new ExperimentArms({
    running: (model) => experiments.running(model),
    load: (version) => loadServedModel(loaderDeps, { name: pin.name, version }),
    ttlMs: Number(env.EXPERIMENT_CACHE_SECONDS ?? '30') * 1000,
    retryMs: Number(env.MODEL_RETRY_MS ?? '1000'),
  });

const s3Signer = env.MLOPS_LOCAL_S3_ROOT ? undefined : new S3ArtifactSigner(clients.s3, ARTIFACTS_BUCKET);

/** The predict function: Open Inference Protocol v2, the v1 predict API and edge export. */
export const handler = httpApi(
  servingBindings({
    modelName: pin.name,
    host,
    files,
    online: async (req) =>
      getOnlineFeatures(
        { repo: await featureRepo(), table: new DynamoOnlineTable(clients.dynamodb, ONLINE_TABLE) },
        req,
      ),
    log: new PredictionLog(sinkFor(env)),
    ...(sagemaker ? { answeredBy: sagemaker.answeredBy } : {}),
    ...(arms ? { arms } : {}),
    signerFor: (ctx) =>
      s3Signer ??
      new LocalArtifactSigner(
        clients.objectStore,
        ARTIFACTS_BUCKET,
        `http://${ctx.headers.host ?? '127.0.0.1:4566'}`,
      ),
  }),
);
