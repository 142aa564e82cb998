import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger per function. Service name and level come from the standard
 * Powertools variables that constructs set (`POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`).
 * Request metrics are not emitted through Powertools' Metrics: the HTTP middleware's request
 * line is the EMF record (lambdas/platform/http/middleware.ts), and asking Powertools whether
 * anything else was stored cost about 10 µs on every request.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'mlops' });
