import { LambdaClient } from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { awsClients } from '../../platform/aws-clients';
import { loadConfig } from '../../platform/config';
import { logger } from '../../platform/observability';
import {
  RegistryDeploymentRecords,
  SdkLambdaControl,
  SfnWorkflowStarter,
} from '../../serving/deploy/adapters';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { type AlarmActionEvent, rollbackOnSevereAlarm } from './severe';

const config = loadConfig(
  z.object({
    MODEL_NAME: z.string().min(1),
    SERVING_FUNCTION: z.string().min(1),
    SERVING_ALIAS: z.string().min(1).default('live'),
    TABLE: z.string().min(1),
    // The deployment state machine, whose running canary a rollback stops (unset: none stopped).
    STATE_MACHINE_ARN: z.string().min(1).optional(),
    ROLLBACK_COOLDOWN_SECONDS: z.coerce.number().int().min(0).default(900),
    AWS_ENDPOINT_URL_LAMBDA: z.string().optional(),
    AWS_REGION: z.string().default('us-east-1'),
  }),
);
const lambda = new SdkLambdaControl(
  new LambdaClient({ endpoint: config.AWS_ENDPOINT_URL_LAMBDA || undefined, region: config.AWS_REGION }),
  config.SERVING_FUNCTION,
);
const clients = awsClients();
const records = new RegistryDeploymentRecords(new DynamoRegistryStore(clients.dynamodb, config.TABLE));
const workflow = config.STATE_MACHINE_ARN
  ? new SfnWorkflowStarter(clients.sfn, config.STATE_MACHINE_ARN, 'SevereAlarmRollback')
  : undefined;

/** The severe composite alarm's Lambda action (invoked asynchronously by CloudWatch). */
export const handler = async (event: AlarmActionEvent) => {
  const outcome = await rollbackOnSevereAlarm(
    event,
    {
      settings: { servedModel: config.MODEL_NAME, alias: config.SERVING_ALIAS },
      lambda,
      records,
      ...(workflow ? { workflow } : {}),
    },
    { cooldownMs: config.ROLLBACK_COOLDOWN_SECONDS * 1000 },
  );
  logger.info('severe alarm action', { outcome });
  return outcome;
};
