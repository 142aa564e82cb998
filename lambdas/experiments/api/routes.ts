import { z } from 'zod';
import { defineRoute } from '../../platform/http/route';
import { AnalysisReportSchema, MetricSchema } from '../analysis/result';
import { ExperimentSpecSchema, OutcomeBatchSchema } from '../model';

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'an experiment id is its name');

/** An experiment as the API answers it. */
export const ExperimentSchema = z.object({
  id: z.string(),
  model: z.string(),
  control_version: z.string(),
  treatment_version: z.string(),
  allocation: z.object({ control: z.number(), treatment: z.number() }),
  salt: z.string(),
  status: z.enum(['starting', 'running', 'stopped', 'failed']),
  created_at: z.string(),
  started_at: z.string().optional(),
  stopped_at: z.string().optional(),
  status_message: z.string().optional(),
});

const ExperimentResponse = z.object({ experiment: ExperimentSchema });

/** POST /v1/experiments: creates and starts an A/B test of two versions of a model. */
export const createExperimentRoute = defineRoute({
  method: 'POST',
  path: '/v1/experiments',
  summary: 'Start an A/B test of two registered versions of a model',
  request: ExperimentSpecSchema,
  response: ExperimentResponse,
});

/** GET /v1/experiments/{id}. */
export const getExperimentRoute = defineRoute({
  method: 'GET',
  path: '/v1/experiments/{id}',
  summary: 'An experiment and its status',
  request: z.strictObject({ id: Id }),
  response: ExperimentResponse,
});

/** GET /v1/experiments?model=: a model's experiments, newest first. */
export const listExperimentsRoute = defineRoute({
  method: 'GET',
  path: '/v1/experiments',
  summary: "A model's experiments, newest first",
  request: z.strictObject({ model: z.string().min(1).max(256) }),
  response: z.object({ experiments: z.array(ExperimentSchema) }),
});

/** POST /v1/experiments/{id}/stop: the predict function stops assigning units. */
export const stopExperimentRoute = defineRoute({
  method: 'POST',
  path: '/v1/experiments/{id}/stop',
  summary: 'Stop an experiment (outcomes are still accepted)',
  request: z.strictObject({ id: Id }),
  response: ExperimentResponse,
});

/** POST /v1/experiments/{id}/outcomes: a batch of outcomes of served units, idempotent by outcome_id. */
export const recordOutcomesRoute = defineRoute({
  method: 'POST',
  path: '/v1/experiments/{id}/outcomes',
  summary: 'Record outcomes (conversions, values) of units served in an experiment',
  request: OutcomeBatchSchema.extend({ id: Id }),
  response: z.object({
    experiment: z.string(),
    received: z.number(),
    recorded: z.number(),
    duplicates: z.number(),
  }),
});

/** A number sent in the query string. */
const queryNumber = () =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number());

/** GET /v1/experiments/{id}/analysis: the same report as `mlops experiments analyze --data`. */
export const analysisRoute = defineRoute({
  method: 'GET',
  path: '/v1/experiments/{id}/analysis',
  summary: 'Statistics and a decision from the stored exposures and outcomes',
  request: z.strictObject({
    id: Id,
    /** Minimum detectable effect, relative to the control. */
    mde: queryNumber().optional(),
    power: queryNumber().optional(),
    alpha: queryNumber().optional(),
    primary: MetricSchema.optional(),
  }),
  response: AnalysisReportSchema,
});

export const experimentRoutes = [
  createExperimentRoute,
  getExperimentRoute,
  listExperimentsRoute,
  stopExperimentRoute,
  recordOutcomesRoute,
  analysisRoute,
] as const;
