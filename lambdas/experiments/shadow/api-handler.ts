import { z } from 'zod';
import { awsClients } from '../../platform/aws-clients';
import { baseConfigSchema, loadConfig } from '../../platform/config';
import { httpApi } from '../../platform/http/router';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { shadowBindings } from './api/bindings';
import { ShadowService } from './service';

const config = loadConfig(
  baseConfigSchema.extend({
    /** Shadow configuration and pairs. */
    MONITORING_BUCKET: z.string().min(1),
    /** The registry, read to check a shadow version exists. */
    TABLE: z.string().min(1),
  }),
);
const clients = awsClients();

/** Shadow mode's API: set, read and stop a model's shadow, and its report. */
export const handler = httpApi(
  shadowBindings(
    new ShadowService({
      store: clients.objectStore,
      bucket: config.MONITORING_BUCKET,
      registry: new DynamoRegistryStore(clients.dynamodb, config.TABLE),
    }),
  ),
);
