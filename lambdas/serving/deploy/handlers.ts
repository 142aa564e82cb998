import { LambdaClient } from '@aws-sdk/client-lambda';
import { awsClients } from '../../platform/aws-clients';
import { httpApi } from '../../platform/http/router';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { sageMakerControl } from '../sagemaker/deploy';
import { RegistryDeploymentRecords, SdkLambdaControl, SfnWorkflowStarter } from './adapters';
import { deploymentBindings } from './api';
import {
  checkReady,
  type DeploymentSettings,
  type DeploymentState,
  type DeployRequest,
  decide as decideStep,
  type LambdaControl,
  prepare as prepareStep,
  promote as promoteStep,
  rollback as rollbackStep,
  shift as shiftStep,
} from './workflow';

const env = process.env;
const names = (v: string | undefined) => (v ?? '').split(',').filter(Boolean);

/** The deployment settings the construct writes into the environment. */
export const settings: DeploymentSettings = {
  servedModel: env.MODEL_NAME ?? '',
  alias: env.SERVING_ALIAS ?? 'live',
  alarms: { blue: names(env.ALARMS_BLUE), green: names(env.ALARMS_GREEN) },
  defaultBakeSeconds: Number(env.BAKE_SECONDS ?? '300'),
};

const clients = awsClients();
let lambdaClient: LambdaClient | undefined;
/** Lambda control of the serving function (a client built on first use); the endpoint's variants on SageMaker. */
export function control(): LambdaControl {
  const sagemaker = sageMakerControl(env);
  if (sagemaker) return sagemaker;
  lambdaClient ??= new LambdaClient({
    endpoint: env.AWS_ENDPOINT_URL_LAMBDA || env.AWS_ENDPOINT_URL || undefined,
    region: env.AWS_REGION || 'us-east-1',
  });
  return new SdkLambdaControl(lambdaClient, env.SERVING_FUNCTION ?? '');
}
export const records = new RegistryDeploymentRecords(
  new DynamoRegistryStore(clients.dynamodb, env.TABLE ?? 'tracking'),
);

/** Step Functions task: publish the pinned version and record the deployment. */
export const prepare = async (event: { request: DeployRequest; execution?: string }) =>
  prepareStep(
    { ...event.request, ...(event.execution ? { execution: event.execution } : {}) },
    settings,
    control(),
    records,
  );

/** Step Functions task: the new version's ready probe; refuses the deployment if its model cannot load. */
export const ready = async (event: { state: DeploymentState }) => checkReady(event.state, control(), records);

/** Step Functions task: move the alias to the current step's weight. */
export const shift = async (event: { state: DeploymentState }) =>
  shiftStep(event.state, settings, control(), records);

/** Step Functions task: read the alarm check, choose rollback, the next step or promotion. */
export const decide = async (event: { state: DeploymentState; check?: { MetricAlarms?: [] } }) =>
  decideStep(event.state, event.check);

/** Step Functions task: all traffic back to the previous version, the reason on the model version. */
export const rollback = async (event: {
  state: DeploymentState;
  reason?: string;
  error?: { Error?: string; Cause?: string };
}) =>
  rollbackStep(
    event.state,
    event.reason ??
      `workflow error: ${event.error?.Error ?? 'unknown'}: ${String(event.error?.Cause ?? '').slice(0, 500)}`,
    settings,
    control(),
    records,
  );

/** Step Functions task: mark the version live at 100%. */
export const promote = async (event: { state: DeploymentState }) => promoteStep(event.state, records);

/** The deployment API (POST /v1/deployments, status, rollback) behind the platform API. */
export const api = httpApi(
  deploymentBindings({
    settings,
    lambda: control(),
    records,
    workflow: new SfnWorkflowStarter(clients.sfn, env.STATE_MACHINE_ARN ?? ''),
  }),
);
