/**
 * The tracking and registry entities as MLflow's REST API shows them (snake_case, ids as
 * strings), plus the stored form of a run that carries its params, tags and latest metrics
 * together so one read serves `runs/get` and one index query serves `runs/search`.
 */
export type LifecycleStage = 'active' | 'deleted';
export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const VIEW_TYPES = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

export interface Tag {
  readonly key: string;
  readonly value: string;
}

export interface Experiment {
  readonly experiment_id: string;
  readonly name: string;
  readonly artifact_location: string;
  readonly lifecycle_stage: LifecycleStage;
  readonly creation_time: number;
  readonly last_update_time: number;
  readonly tags: Readonly<Record<string, string>>;
}

/** One metric point; `value` may be NaN (MLflow allows it). */
export interface Metric {
  readonly key: string;
  readonly value: number;
  readonly timestamp: number;
  readonly step: number;
}

export interface RunInfo {
  readonly run_id: string;
  readonly run_name: string;
  readonly experiment_id: string;
  readonly user_id: string;
  readonly status: RunStatus;
  readonly start_time: number;
  readonly end_time?: number;
  readonly artifact_uri: string;
  readonly lifecycle_stage: LifecycleStage;
}

export interface DatasetInput {
  readonly tags: readonly Tag[];
  readonly dataset: {
    readonly name: string;
    readonly digest: string;
    readonly source_type: string;
    readonly source: string;
    readonly schema?: string;
    readonly profile?: string;
  };
}

/** A run as stored: info plus maps of params, tags and the latest value of each metric. */
export interface RunRecord {
  readonly info: RunInfo;
  readonly params: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, Omit<Metric, 'key'>>>;
  readonly inputs: readonly DatasetInput[];
}

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];
export type VersionStatus = 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';

export interface RegisteredModel {
  readonly name: string;
  readonly creation_timestamp: number;
  readonly last_updated_timestamp: number;
  readonly user_id: string;
  readonly description: string;
  readonly tags: Readonly<Record<string, string>>;
  /** alias -> version number. */
  readonly aliases: Readonly<Record<string, string>>;
}

export interface ModelVersion {
  readonly name: string;
  readonly version: string;
  readonly creation_timestamp: number;
  readonly last_updated_timestamp: number;
  readonly user_id: string;
  readonly current_stage: Stage;
  readonly description: string;
  readonly source: string;
  readonly run_id: string;
  readonly run_link: string;
  readonly status: VersionStatus;
  readonly status_message: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** One recorded stage transition or alias change (who, when, from, to). */
export interface RegistryChange {
  readonly kind: 'stage' | 'alias';
  readonly name: string;
  readonly version: string;
  /** For a stage change: the stages; for an alias: the alias and the version it left. */
  readonly from: string;
  readonly to: string;
  readonly alias?: string;
  readonly user_id: string;
  readonly timestamp: number;
}

/** Converts a tag map to MLflow's `[{key, value}]` list. */
export function tagList(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}
