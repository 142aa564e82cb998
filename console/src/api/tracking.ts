import { api } from './http';

const mlflow = (p: string) => `/api/2.0/mlflow/${p}`;

export interface KeyValue {
  key: string;
  value: string;
}
export interface Metric {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}
export interface Run {
  info: {
    run_id: string;
    run_name: string;
    experiment_id: string;
    status: string;
    start_time: number;
    end_time?: number;
    artifact_uri: string;
    user_id: string;
  };
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
}
export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  last_update_time: number;
  creation_time: number;
}

export async function searchExperiments(): Promise<Experiment[]> {
  const all: Experiment[] = [];
  let page_token: string | undefined;
  do {
    const r = await api<{ experiments?: Experiment[]; next_page_token?: string }>(
      mlflow('experiments/search'),
      { body: { max_results: 1000, ...(page_token ? { page_token } : {}) } },
    );
    all.push(...(r.experiments ?? []));
    page_token = r.next_page_token;
  } while (page_token);
  return all;
}

export interface RunSearch {
  experimentIds: string[];
  /** MLflow's filter grammar, passed through: the API parses it. */
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

export function searchRuns(s: RunSearch): Promise<{ runs?: Run[]; next_page_token?: string }> {
  return api(mlflow('runs/search'), {
    body: {
      experiment_ids: s.experimentIds,
      ...(s.filter ? { filter: s.filter } : {}),
      ...(s.orderBy?.length ? { order_by: s.orderBy } : {}),
      max_results: s.maxResults ?? 500,
      ...(s.pageToken ? { page_token: s.pageToken } : {}),
    },
  });
}

export async function getRun(runId: string): Promise<Run> {
  return (await api<{ run: Run }>(mlflow('runs/get'), { query: { run_id: runId } })).run;
}

export async function metricHistory(runId: string, key: string): Promise<Metric[]> {
  const all: Metric[] = [];
  let page_token: string | undefined;
  do {
    const r = await api<{ metrics?: Metric[]; next_page_token?: string }>(mlflow('metrics/get-history'), {
      query: { run_id: runId, metric_key: key, page_token },
    });
    all.push(...(r.metrics ?? []));
    page_token = r.next_page_token;
  } while (page_token);
  return all.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
}

export interface ArtifactFile {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export async function listArtifacts(runId: string, path?: string): Promise<ArtifactFile[]> {
  const r = await api<{ files?: ArtifactFile[] }>(mlflow('artifacts/list'), {
    query: { run_id: runId, path },
  });
  return r.files ?? [];
}

/**
 * The proxy download route of a run's artifact (`mlflow-artifacts:/<root>/<path>`), for
 * fetching through the signed client.
 */
export function artifactPath(artifactUri: string, path: string): string {
  const root = artifactUri.replace(/^mlflow-artifacts:\/*/, '');
  const encoded = `${root}/${path}`
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');
  return `/api/2.0/mlflow-artifacts/artifacts/${encoded}`;
}

/** A metric's latest value as a number (MLflow sends NaN and infinities as text). */
export function metricNumber(v: number | string | undefined): number {
  if (typeof v === 'number') return v;
  if (v === undefined) return Number.NaN;
  return v === 'Infinity'
    ? Number.POSITIVE_INFINITY
    : v === '-Infinity'
      ? Number.NEGATIVE_INFINITY
      : Number(v);
}
