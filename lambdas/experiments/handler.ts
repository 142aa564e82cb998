import { z } from 'zod';
import { awsClients } from '../platform/aws-clients';
import { baseConfigSchema, loadConfig } from '../platform/config';
import { httpApi } from '../platform/http/router';
import { DynamoRegistryStore } from '../tracking/store/dynamo-registry-store';
import { experimentBindings } from './api/bindings';
import { ExperimentService } from './domain/experiments';
import { DynamoExperimentStore } from './store/dynamo-experiment-store';

const config = loadConfig(
  baseConfigSchema.extend({
    /** The experiments table (experiments, running slots, exposures, outcomes). */
    EXPERIMENTS_TABLE: z.string().min(1),
    /** The tracking table: the registry is read to check versions. */
    TABLE: z.string().min(1),
  }),
);
const clients = awsClients();

/** The experiment API: create, read, list, stop, outcomes and analysis. */
export const handler = httpApi(
  experimentBindings(
    new ExperimentService({
      store: new DynamoExperimentStore(clients.dynamodb, config.EXPERIMENTS_TABLE),
      registry: new DynamoRegistryStore(clients.dynamodb, config.TABLE),
    }),
  ),
);
