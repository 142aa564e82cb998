import { z } from 'zod';
import { awsClients } from '../platform/aws-clients';
import { baseConfigSchema, loadConfig } from '../platform/config';
import { eventPublisher } from '../platform/events';
import type { RequestContext } from '../platform/http/route';
import { httpApi } from '../platform/http/router';
import { artifactBindings } from './api/artifact-handlers';
import { registryBindings } from './api/registry-handlers';
import { trackingBindings } from './api/tracking-handlers';
import { ArtifactService } from './artifacts/artifact-service';
import { LocalArtifactSigner } from './artifacts/local-signer';
import { S3ArtifactSigner } from './artifacts/s3-signer';
import { ExperimentService } from './domain/experiments';
import { readOnnxAt, sourceKey } from './domain/model-source';
import { REGISTRY_EVENT_SOURCE, RegistryService } from './domain/registry';
import { RunSearch } from './domain/run-search';
import { RunService } from './domain/runs';
import { DynamoRegistryStore } from './store/dynamo-registry-store';
import { createDynamoTrackingStore } from './store/dynamo-tracking-store';

/**
 * The tracking function: MLflow's tracking, registry and artifact APIs. This module only
 * wires adapters (DynamoDB, object store, signer, events) into the domain services.
 */
const config = loadConfig(
  baseConfigSchema.extend({
    TABLE: z.string().min(1),
    ARTIFACTS_BUCKET: z.string().min(1),
    EVENT_BUS_NAME: z.string().default('default'),
  }),
);
const clients = awsClients();
const store = createDynamoTrackingStore(clients.dynamodb, config.TABLE);
const experiments = new ExperimentService(store);
const runs = new RunService(store, experiments);
const artifacts = new ArtifactService(clients.objectStore, config.ARTIFACTS_BUCKET);
const publisher = eventPublisher(REGISTRY_EVENT_SOURCE);
const registryStore = new DynamoRegistryStore(clients.dynamodb, config.TABLE);

const registry: RegistryService = new RegistryService(
  registryStore,
  { publish: async (type, detail) => (await publisher).publish(type, detail) },
  async (source) => {
    const key = await sourceKey(source, config.ARTIFACTS_BUCKET, {
      runArtifactUri: async (runId) => (await runs.get(runId)).info.artifact_uri,
      versionSource: async (name, ref) =>
        (/^\d+$/.test(ref) ? await registry.getVersion(name, ref) : await registry.getByAlias(name, ref))
          .source,
    });
    const bytes = await readOnnxAt(clients.objectStore, config.ARTIFACTS_BUCKET, key);
    // Loaded on first registration only: onnxruntime's native module costs cold-start time.
    const { inspectOnnxModel } = await import('../serving/inference/inspect');
    await inspectOnnxModel(bytes);
  },
);

const s3Signer = config.MLOPS_LOCAL_S3_ROOT
  ? undefined
  : new S3ArtifactSigner(clients.s3, config.ARTIFACTS_BUCKET);
const signerFor = (ctx: RequestContext) =>
  s3Signer ??
  new LocalArtifactSigner(
    clients.objectStore,
    config.ARTIFACTS_BUCKET,
    `http://${ctx.headers.host ?? '127.0.0.1:4566'}`,
  );

export const handler = httpApi([
  ...trackingBindings({ store, experiments, runs, search: new RunSearch(store), artifacts }),
  ...artifactBindings({ artifacts, signerFor, runs, registry }),
  ...registryBindings(registry, store),
]);
