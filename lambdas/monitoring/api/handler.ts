import { z } from 'zod';
import { awsClients } from '../../platform/aws-clients';
import { loadConfig } from '../../platform/config';
import { bind } from '../../platform/http/route';
import { httpApi } from '../../platform/http/router';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { storeLabels } from '../labels/labels';
import { DEFAULT_TTL_DAYS, PredictionIndex } from '../labels/prediction-index';
import { postLabelsRoute } from '../labels/routes';
import { monitoringReadBindings } from './bindings';
import { CloudWatchMetricsReader } from './cloudwatch-metrics';
import { MonitoringReadService } from './service';

const config = loadConfig(
  z.object({
    /** The prediction index labels are checked against and written to. */
    INDEX_TABLE: z.string().min(1),
    LABEL_TTL_DAYS: z.coerce.number().int().min(1).default(DEFAULT_TTL_DAYS),
    /** Drift reports and performance runs. */
    MONITORING_BUCKET: z.string().min(1),
    /** The registry: models and their versions. */
    TABLE: z.string().min(1),
  }),
);
const clients = awsClients();
const index = new PredictionIndex(clients.dynamodb, config.INDEX_TABLE, config.LABEL_TTL_DAYS);
const reads = new MonitoringReadService({
  store: clients.objectStore,
  bucket: config.MONITORING_BUCKET,
  registry: new DynamoRegistryStore(clients.dynamodb, config.TABLE),
  metrics: new CloudWatchMetricsReader(clients.cloudwatch),
});

/**
 * The monitoring area's API function: `POST /v1/labels` and the read routes of drift
 * reports, performance and request metrics (`GET /v1/models/{name}/monitoring/...`).
 */
export const handler = httpApi([
  bind(postLabelsRoute, (req) => storeLabels(index, req)),
  ...monitoringReadBindings(reads),
]);
