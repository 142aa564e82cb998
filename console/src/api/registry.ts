import { api, seg } from './http';
import type { KeyValue } from './tracking';

export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  current_stage: string;
  run_id: string;
  status: string;
  status_message: string;
  tags?: KeyValue[];
  aliases?: string[];
}
export interface RegisteredModel {
  name: string;
  description?: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  latest_versions?: ModelVersion[];
  aliases?: { alias: string; version: string }[];
}
export interface RegistryChange {
  kind: string;
  name: string;
  version: string;
  alias?: string;
  from: string;
  to: string;
  user_id: string;
  timestamp: number;
}

export async function searchModels(): Promise<RegisteredModel[]> {
  const all: RegisteredModel[] = [];
  let page_token: string | undefined;
  do {
    const r = await api<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
      '/api/2.0/mlflow/registered-models/search',
      { body: { max_results: 1000, ...(page_token ? { page_token } : {}) } },
    );
    all.push(...(r.registered_models ?? []));
    page_token = r.next_page_token;
  } while (page_token);
  return all;
}

export async function getModel(name: string): Promise<RegisteredModel> {
  return (
    await api<{ registered_model: RegisteredModel }>('/api/2.0/mlflow/registered-models/get', {
      query: { name },
    })
  ).registered_model;
}

export async function modelVersions(name: string): Promise<ModelVersion[]> {
  const all: ModelVersion[] = [];
  let page_token: string | undefined;
  // The search filter is MLflow's grammar, quoted as it documents.
  const filter = `name='${name.replace(/'/g, "\\'")}'`;
  do {
    const r = await api<{ model_versions?: ModelVersion[]; next_page_token?: string }>(
      '/api/2.0/mlflow/model-versions/search',
      { query: { filter, max_results: '1000', page_token } },
    );
    all.push(...(r.model_versions ?? []));
    page_token = r.next_page_token;
  } while (page_token);
  return all.sort((a, b) => Number(b.version) - Number(a.version));
}

export async function modelChanges(name: string): Promise<RegistryChange[]> {
  const r = await api<{ changes?: RegistryChange[] }>('/api/2.0/mlops/registered-models/changes', {
    query: { name },
  });
  return (r.changes ?? []).sort((a, b) => a.timestamp - b.timestamp);
}

/** One deployment's `mlops.deployment.*` record, as GET /v1/deployments/{model} answers it. */
export type DeploymentRecord = Record<string, string> & { version: string };

export interface DeploymentStatus {
  model: string;
  live: { lambda_version: string; model_version?: string; weights: Record<string, number> };
  deployments: DeploymentRecord[];
}

export function deploymentStatus(model: string): Promise<DeploymentStatus> {
  return api(`/v1/deployments/${seg(model)}`);
}
