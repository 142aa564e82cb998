import { z } from 'zod';
import { defineRoute, q } from '../../platform/http/route';
import { int64, modelVersionSchema, registeredModelSchema, repeated, tagSchema } from './schemas';

/** MLflow's model registry endpoints (`registered-models/*`, `model-versions/*`). */
const p = (path: string) => `/api/2.0/mlflow/${path}`;
const empty = z.object({});
const version = z.union([z.string(), z.number()]).transform(String);
const modelOut = z.object({ registered_model: registeredModelSchema });
const versionOut = z.object({ model_version: modelVersionSchema });

export const createModel = defineRoute({
  method: 'POST',
  path: p('registered-models/create'),
  summary: 'Create a registered model',
  request: z.object({
    name: z.string(),
    tags: z.array(tagSchema).optional(),
    description: z.string().optional(),
  }),
  response: modelOut,
});

export const getModel = defineRoute({
  method: 'GET',
  path: p('registered-models/get'),
  summary: 'Get a registered model',
  request: z.object({ name: z.string() }),
  response: modelOut,
});

export const renameModel = defineRoute({
  method: 'POST',
  path: p('registered-models/rename'),
  summary: 'Rename a registered model',
  request: z.object({ name: z.string(), new_name: z.string() }),
  response: modelOut,
});

export const updateModel = defineRoute({
  method: 'PATCH',
  path: p('registered-models/update'),
  summary: "Update a registered model's description",
  request: z.object({ name: z.string(), description: z.string().optional() }),
  response: modelOut,
});

export const deleteModel = defineRoute({
  method: 'DELETE',
  path: p('registered-models/delete'),
  summary: 'Delete a registered model and its versions',
  request: z.object({ name: z.string() }),
  response: empty,
});

const searchModelsResponse = z.object({
  registered_models: z.array(registeredModelSchema),
  next_page_token: z.string().optional(),
});

export const searchModels = defineRoute({
  method: 'GET',
  path: p('registered-models/search'),
  summary: 'Search registered models',
  request: z.object({
    filter: z.string().optional(),
    max_results: q.int().optional(),
    order_by: repeated(),
    page_token: z.string().optional(),
  }),
  response: searchModelsResponse,
});

export const searchModelsPost = defineRoute({
  method: 'POST',
  path: p('registered-models/search'),
  summary: 'Search registered models (JSON body)',
  request: z.object({
    filter: z.string().optional(),
    max_results: int64.optional(),
    order_by: z.array(z.string()).optional(),
    page_token: z.string().optional(),
  }),
  response: searchModelsResponse,
});

const latestResponse = z.object({ model_versions: z.array(modelVersionSchema) });

export const getLatestVersions = defineRoute({
  method: 'POST',
  path: p('registered-models/get-latest-versions'),
  summary: 'Latest version per stage',
  request: z.object({ name: z.string(), stages: z.array(z.string()).optional() }),
  response: latestResponse,
});

export const getLatestVersionsGet = defineRoute({
  method: 'GET',
  path: p('registered-models/get-latest-versions'),
  summary: 'Latest version per stage (query string)',
  request: z.object({ name: z.string(), stages: repeated() }),
  response: latestResponse,
});

export const setModelTag = defineRoute({
  method: 'POST',
  path: p('registered-models/set-tag'),
  summary: 'Set a registered model tag',
  request: z.object({ name: z.string(), key: z.string(), value: z.string() }),
  response: empty,
});

export const deleteModelTag = defineRoute({
  method: 'DELETE',
  path: p('registered-models/delete-tag'),
  summary: 'Delete a registered model tag',
  request: z.object({ name: z.string(), key: z.string() }),
  response: empty,
});

export const setAlias = defineRoute({
  method: 'POST',
  path: p('registered-models/alias'),
  summary: 'Point an alias at a version',
  request: z.object({ name: z.string(), alias: z.string(), version }),
  response: empty,
});

export const deleteAlias = defineRoute({
  method: 'DELETE',
  path: p('registered-models/alias'),
  summary: 'Delete an alias',
  request: z.object({ name: z.string(), alias: z.string() }),
  response: empty,
});

export const getByAlias = defineRoute({
  method: 'GET',
  path: p('registered-models/alias'),
  summary: 'The version an alias points at',
  request: z.object({ name: z.string(), alias: z.string() }),
  response: versionOut,
});

export const createVersion = defineRoute({
  method: 'POST',
  path: p('model-versions/create'),
  summary: 'Register a model version (checked to load in onnxruntime-node)',
  request: z.object({
    name: z.string(),
    source: z.string(),
    run_id: z.string().optional(),
    tags: z.array(tagSchema).optional(),
    run_link: z.string().optional(),
    description: z.string().optional(),
  }),
  response: versionOut,
});

export const getVersion = defineRoute({
  method: 'GET',
  path: p('model-versions/get'),
  summary: 'Get a model version',
  request: z.object({ name: z.string(), version: z.string() }),
  response: versionOut,
});

export const updateVersion = defineRoute({
  method: 'PATCH',
  path: p('model-versions/update'),
  summary: "Update a version's description",
  request: z.object({ name: z.string(), version, description: z.string().optional() }),
  response: versionOut,
});

export const deleteVersion = defineRoute({
  method: 'DELETE',
  path: p('model-versions/delete'),
  summary: 'Delete a model version',
  request: z.object({ name: z.string(), version }),
  response: empty,
});

export const searchVersions = defineRoute({
  method: 'GET',
  path: p('model-versions/search'),
  summary: 'Search model versions',
  request: z.object({
    filter: z.string().optional(),
    max_results: q.int().optional(),
    order_by: repeated(),
    page_token: z.string().optional(),
  }),
  response: z.object({ model_versions: z.array(modelVersionSchema), next_page_token: z.string().optional() }),
});

export const getDownloadUri = defineRoute({
  method: 'GET',
  path: p('model-versions/get-download-uri'),
  summary: "Where a version's files are",
  request: z.object({ name: z.string(), version: z.string() }),
  response: z.object({ artifact_uri: z.string() }),
});

export const transitionStage = defineRoute({
  method: 'POST',
  path: p('model-versions/transition-stage'),
  summary: 'Move a version to None, Staging, Production or Archived',
  request: z.object({
    name: z.string(),
    version,
    stage: z.string(),
    archive_existing_versions: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .optional(),
  }),
  response: versionOut,
});

export const setVersionTag = defineRoute({
  method: 'POST',
  path: p('model-versions/set-tag'),
  summary: 'Set a version tag',
  request: z.object({ name: z.string(), version, key: z.string(), value: z.string() }),
  response: empty,
});

export const deleteVersionTag = defineRoute({
  method: 'DELETE',
  path: p('model-versions/delete-tag'),
  summary: 'Delete a version tag',
  request: z.object({ name: z.string(), version, key: z.string() }),
  response: empty,
});

export const listChanges = defineRoute({
  method: 'GET',
  path: '/api/2.0/mlops/registered-models/changes',
  summary: 'Recorded stage transitions and alias changes of a model (who, when, from, to)',
  request: z.object({ name: z.string() }),
  response: z.object({
    changes: z.array(
      z.object({
        kind: z.string(),
        name: z.string(),
        version: z.string(),
        alias: z.string().optional(),
        from: z.string(),
        to: z.string(),
        user_id: z.string(),
        timestamp: z.number(),
      }),
    ),
  }),
});

export const registryRoutes = [
  createModel,
  getModel,
  renameModel,
  updateModel,
  deleteModel,
  searchModels,
  searchModelsPost,
  getLatestVersions,
  getLatestVersionsGet,
  setModelTag,
  deleteModelTag,
  setAlias,
  deleteAlias,
  getByAlias,
  createVersion,
  getVersion,
  updateVersion,
  deleteVersion,
  searchVersions,
  getDownloadUri,
  transitionStage,
  setVersionTag,
  deleteVersionTag,
  listChanges,
] as const;
