import { z } from 'zod';
import { awsClients } from '../../platform/aws-clients';
import { loadConfig } from '../../platform/config';
import { bind } from '../../platform/http/route';
import { httpApi } from '../../platform/http/router';
import { storeLabels } from './labels';
import { DEFAULT_TTL_DAYS, PredictionIndex } from './prediction-index';
import { postLabelsRoute } from './routes';

const config = loadConfig(
  z.object({
    INDEX_TABLE: z.string().min(1),
    LABEL_TTL_DAYS: z.coerce.number().int().min(1).default(DEFAULT_TTL_DAYS),
  }),
);
const index = new PredictionIndex(awsClients().dynamodb, config.INDEX_TABLE, config.LABEL_TTL_DAYS);

/** POST /v1/labels behind the platform API. */
export const handler = httpApi([bind(postLabelsRoute, (req) => storeLabels(index, req))]);
