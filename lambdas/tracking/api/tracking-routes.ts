import { z } from 'zod';
import { defineRoute, q } from '../../platform/http/route';
import {
  datasetInputSchema,
  experimentSchema,
  int64,
  metricSchema,
  metricValue,
  repeated,
  runIdFields,
  runInfoSchema,
  runSchema,
  runStatus,
  tagSchema,
  viewType,
} from './schemas';

/** MLflow's tracking endpoints under `/api/2.0/mlflow/`: one spec per endpoint, the contract. */
const p = (path: string) => `/api/2.0/mlflow/${path}`;
const empty = z.object({});

export const createExperiment = defineRoute({
  method: 'POST',
  path: p('experiments/create'),
  summary: 'Create an experiment',
  request: z.object({
    name: z.string(),
    artifact_location: z.string().optional(),
    tags: z.array(tagSchema).optional(),
  }),
  response: z.object({ experiment_id: z.string() }),
});

export const getExperiment = defineRoute({
  method: 'GET',
  path: p('experiments/get'),
  summary: 'Get an experiment by id',
  request: z.object({ experiment_id: z.string() }),
  response: z.object({ experiment: experimentSchema }),
});

export const getExperimentByName = defineRoute({
  method: 'GET',
  path: p('experiments/get-by-name'),
  summary: 'Get an experiment by name',
  request: z.object({ experiment_name: z.string() }),
  response: z.object({ experiment: experimentSchema }),
});

const searchExperimentsResponse = z.object({
  experiments: z.array(experimentSchema),
  next_page_token: z.string().optional(),
});

export const searchExperiments = defineRoute({
  method: 'POST',
  path: p('experiments/search'),
  summary: 'Search experiments',
  request: z.object({
    max_results: int64.optional(),
    page_token: z.string().optional(),
    filter: z.string().optional(),
    order_by: z.array(z.string()).optional(),
    view_type: viewType.optional(),
  }),
  response: searchExperimentsResponse,
});

export const searchExperimentsGet = defineRoute({
  method: 'GET',
  path: p('experiments/search'),
  summary: 'Search experiments (query string)',
  request: z.object({
    max_results: q.int().optional(),
    page_token: z.string().optional(),
    filter: z.string().optional(),
    order_by: repeated(),
    view_type: viewType.optional(),
  }),
  response: searchExperimentsResponse,
});

export const updateExperiment = defineRoute({
  method: 'POST',
  path: p('experiments/update'),
  summary: 'Rename an experiment',
  request: z.object({ experiment_id: z.string(), new_name: z.string() }),
  response: empty,
});

export const deleteExperiment = defineRoute({
  method: 'POST',
  path: p('experiments/delete'),
  summary: 'Delete an experiment (soft)',
  request: z.object({ experiment_id: z.string() }),
  response: empty,
});

export const restoreExperiment = defineRoute({
  method: 'POST',
  path: p('experiments/restore'),
  summary: 'Restore a deleted experiment',
  request: z.object({ experiment_id: z.string() }),
  response: empty,
});

export const setExperimentTag = defineRoute({
  method: 'POST',
  path: p('experiments/set-experiment-tag'),
  summary: 'Set an experiment tag',
  request: z.object({ experiment_id: z.string(), key: z.string(), value: z.string() }),
  response: empty,
});

export const createRun = defineRoute({
  method: 'POST',
  path: p('runs/create'),
  summary: 'Create a run',
  request: z.object({
    experiment_id: z.string().optional(),
    run_name: z.string().optional(),
    start_time: int64.optional(),
    tags: z.array(tagSchema).optional(),
    user_id: z.string().optional(),
  }),
  response: z.object({ run: runSchema }),
});

export const getRun = defineRoute({
  method: 'GET',
  path: p('runs/get'),
  summary: 'Get a run',
  request: z.object(runIdFields),
  response: z.object({ run: runSchema }),
});

export const updateRun = defineRoute({
  method: 'POST',
  path: p('runs/update'),
  summary: 'Update run status, end time or name',
  request: z.object({
    ...runIdFields,
    status: runStatus.optional(),
    end_time: int64.optional(),
    run_name: z.string().optional(),
  }),
  response: z.object({ run_info: runInfoSchema }),
});

export const deleteRun = defineRoute({
  method: 'POST',
  path: p('runs/delete'),
  summary: 'Delete a run (soft)',
  request: z.object(runIdFields),
  response: empty,
});

export const restoreRun = defineRoute({
  method: 'POST',
  path: p('runs/restore'),
  summary: 'Restore a deleted run',
  request: z.object(runIdFields),
  response: empty,
});

export const logMetric = defineRoute({
  method: 'POST',
  path: p('runs/log-metric'),
  summary: 'Log a metric point',
  request: z.object({
    ...runIdFields,
    key: z.string(),
    value: metricValue,
    timestamp: int64.optional(),
    step: int64.optional(),
  }),
  response: empty,
});

export const logParam = defineRoute({
  method: 'POST',
  path: p('runs/log-parameter'),
  summary: 'Log a param (immutable)',
  request: z.object({ ...runIdFields, key: z.string(), value: z.string() }),
  response: empty,
});

export const setRunTag = defineRoute({
  method: 'POST',
  path: p('runs/set-tag'),
  summary: 'Set a run tag',
  request: z.object({ ...runIdFields, key: z.string(), value: z.string() }),
  response: empty,
});

export const deleteRunTag = defineRoute({
  method: 'POST',
  path: p('runs/delete-tag'),
  summary: 'Delete a run tag',
  request: z.object({ ...runIdFields, key: z.string() }),
  response: empty,
});

export const logBatch = defineRoute({
  method: 'POST',
  path: p('runs/log-batch'),
  summary: 'Log metrics, params and tags in one request',
  request: z.object({
    ...runIdFields,
    metrics: z
      .array(
        z.object({
          key: z.string(),
          value: metricValue,
          timestamp: int64.optional(),
          step: int64.optional(),
        }),
      )
      .optional(),
    params: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
    tags: z.array(tagSchema).optional(),
  }),
  response: empty,
});

export const logInputs = defineRoute({
  method: 'POST',
  path: p('runs/log-inputs'),
  summary: 'Log dataset inputs of a run',
  request: z.object({ ...runIdFields, datasets: z.array(datasetInputSchema).optional() }),
  response: empty,
});

export const searchRuns = defineRoute({
  method: 'POST',
  path: p('runs/search'),
  summary: 'Search runs',
  request: z.object({
    experiment_ids: z.array(z.string()).optional(),
    filter: z.string().optional(),
    run_view_type: viewType.optional(),
    max_results: int64.optional(),
    order_by: z.array(z.string()).optional(),
    page_token: z.string().optional(),
  }),
  response: z.object({ runs: z.array(runSchema), next_page_token: z.string().optional() }),
});

export const getMetricHistory = defineRoute({
  method: 'GET',
  path: p('metrics/get-history'),
  summary: 'Full history of one metric',
  request: z.object({
    ...runIdFields,
    metric_key: z.string(),
    page_token: z.string().optional(),
    max_results: q.int().optional(),
  }),
  response: z.object({ metrics: z.array(metricSchema), next_page_token: z.string().optional() }),
});

export const listArtifacts = defineRoute({
  method: 'GET',
  path: p('artifacts/list'),
  summary: "List a run's artifacts",
  request: z.object({ ...runIdFields, path: z.string().optional(), page_token: z.string().optional() }),
  response: z.object({
    root_uri: z.string(),
    files: z.array(z.object({ path: z.string(), is_dir: z.boolean(), file_size: z.number().optional() })),
    next_page_token: z.string().optional(),
  }),
});

export const trackingRoutes = [
  createExperiment,
  getExperiment,
  getExperimentByName,
  searchExperiments,
  searchExperimentsGet,
  updateExperiment,
  deleteExperiment,
  restoreExperiment,
  setExperimentTag,
  createRun,
  getRun,
  updateRun,
  deleteRun,
  restoreRun,
  logMetric,
  logParam,
  setRunTag,
  deleteRunTag,
  logBatch,
  logInputs,
  searchRuns,
  getMetricHistory,
  listArtifacts,
] as const;
