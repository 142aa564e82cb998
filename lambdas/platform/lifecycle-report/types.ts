import type { AnalysisReport } from '../../experiments/analysis/result';
import type { ShadowReportAnswer } from '../../experiments/shadow/service';
import type { DriftReport } from '../../monitoring/drift/compare';
import type { ModelVersion, RegisteredModel } from '../../tracking/client/types';
import type { ComparedRun } from '../../tracking/report/compare-data';

/**
 * A section's content, or why it has none: `missing` when nothing was asked for or there is
 * nothing yet (said as such on the page), `error` when reading it failed (the API's message).
 */
export type Section<T> = { readonly data: T } | { readonly missing: string } | { readonly error: string };

/** One step of the main job, as its summary table prints it. */
export interface StepRow {
  readonly name: string;
  readonly outcome: string;
  readonly seconds: number;
}

/** A recorded stage transition or alias change (`GET /api/2.0/mlops/registered-models/changes`). */
export interface RegistryChangeRow {
  readonly kind: string;
  readonly version: string;
  readonly alias?: string;
  readonly from: string;
  readonly to: string;
  readonly user_id: string;
  readonly timestamp: number;
}

export interface RegistryHistory {
  readonly model: RegisteredModel;
  readonly versions: ModelVersion[];
  /** Oldest first. */
  readonly changes: RegistryChangeRow[];
}

/** `GET /v1/deployments/{model}`: the live alias and each deployment's `mlops.deployment.*` record. */
export interface DeploymentStatus {
  readonly model: string;
  readonly live: {
    readonly lambda_version: string;
    readonly model_version?: string;
    readonly weights: Record<string, number>;
  };
  readonly deployments: Record<string, string>[];
}

/** `GET /v1/experiments/{id}` and its analysis. */
export interface AbTest {
  readonly experiment: {
    readonly id: string;
    readonly model: string;
    readonly control_version: string;
    readonly treatment_version: string;
    readonly allocation: { control: number; treatment: number };
    readonly status: string;
    readonly created_at: string;
    readonly started_at?: string;
    readonly stopped_at?: string;
  };
  readonly analysis: AnalysisReport;
}

/** One drift report of the monitoring jobs, as the report shows it. */
export interface DriftEntry {
  readonly title: string;
  /** The scores, read from the job's JSON (its `report`) or a bare drift report. */
  readonly report?: DriftReport;
  /** Why the job judged drift (`reasons` of the job's result). */
  readonly reasons?: string[];
  /** The job's window, when the JSON has one. */
  readonly window?: { from: string; to: string };
  /** The histograms and the timeline, taken from the job's own HTML report. */
  readonly plots: string[];
  /** Why plots or scores are absent (no HTML given, content not as the drift job writes it). */
  readonly notes: string[];
}

/** One version's live performance from delayed labels (the performance job's result). */
export interface PerformanceRow {
  readonly version: string;
  readonly labelledRows: number;
  readonly rows?: number;
  readonly metrics: Record<string, number | null | undefined> | null;
  readonly training: { metric?: string; value?: number } | null;
  readonly drop: number | null;
}

/** Everything the lifecycle report shows, read through the platform's public APIs. */
export interface LifecycleReportData {
  readonly modelName: string;
  readonly apiUrl: string;
  /** ISO time the data was read. */
  readonly generatedAt: string;
  readonly steps: StepRow[];
  readonly runs: Section<ComparedRun[]>;
  readonly registry: Section<RegistryHistory>;
  readonly deployments: Section<DeploymentStatus>;
  readonly ab: Section<AbTest>;
  readonly shadow: Section<ShadowReportAnswer>;
  readonly drift: DriftEntry[];
  readonly performance: Section<PerformanceRow[]>;
}
