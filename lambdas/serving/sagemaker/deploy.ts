import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { awsClients } from '../../platform/aws-clients';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../../tracking/store/dynamo-tracking-store';
import { SageMakerVariantControl } from './control';
import { packageForTriton } from './package';

let client: SageMakerClient | undefined;

/**
 * The deployment workflow's traffic control on the SageMaker backend, when the construct
 * set `SAGEMAKER_ENDPOINT` (lambdas/serving/deploy/handlers.ts picks it): the endpoint's
 * variants, with versions packaged for Triton from the registry into `ARTIFACTS_BUCKET`.
 *
 * @example
 * const control = sageMakerControl(process.env) ?? new SdkLambdaControl(lambdaClient, fn);
 */
export function sageMakerControl(env: NodeJS.ProcessEnv): SageMakerVariantControl | undefined {
  const endpointName = env.SAGEMAKER_ENDPOINT;
  if (!endpointName) return undefined;
  const endpoint = env.AWS_ENDPOINT_URL_SAGEMAKER || env.AWS_ENDPOINT_URL || undefined;
  client ??= new SageMakerClient({
    region: env.AWS_REGION || 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
  });
  const clients = awsClients(env);
  const table = env.TABLE ?? 'tracking';
  const deps = {
    registry: new DynamoRegistryStore(clients.dynamodb, table),
    runs: createDynamoTrackingStore(clients.dynamodb, table),
    store: clients.objectStore,
    bucket: env.ARTIFACTS_BUCKET ?? 'artifacts',
  };
  return new SageMakerVariantControl(client, endpointName, {
    modelName: env.MODEL_NAME ?? '',
    packageVersion: (model, version) => packageForTriton(deps, model, version),
    ...(env.SAGEMAKER_POLL_SECONDS ? { pollSeconds: Number(env.SAGEMAKER_POLL_SECONDS) } : {}),
  });
}
