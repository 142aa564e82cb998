import { z } from 'zod';
import { baseConfigSchema, loadConfig } from './config';
import { healthRoute } from './health-api';
import { bind } from './http/route';
import { httpApi } from './http/router';

const config = loadConfig(baseConfigSchema.extend({ MLOPS_VERSION: z.string().default('dev') }));

/** The platform function: health. */
export const handler = httpApi([
  bind(healthRoute, () => ({ status: 'ok' as const, stage: config.STAGE, version: config.MLOPS_VERSION })),
]);
