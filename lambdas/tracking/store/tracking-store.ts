import type { DatasetInput, Experiment, LifecycleStage, Metric, RunInfo, RunRecord } from '../domain/model';

/**
 * A filter clause the store can apply while it reads runs: a comparison of one stored field
 * (a metric's value, a param, a tag or a run attribute) with a number or a string.
 */
export interface PrefilterClause {
  readonly field: { readonly kind: 'metric' | 'param' | 'tag' | 'attribute'; readonly key: string };
  readonly op: '=' | '!=' | '>' | '>=' | '<' | '<=';
  readonly value: number | string;
}

/**
 * The tracking store port: what the tracking domain needs of its metadata storage, in four
 * parts. The DynamoDB adapters implement them with conditional writes only (no
 * transactions), so the same code runs on DynamoDB and on dynalite.
 */
export type TrackingStore = ExperimentStore & RunStore & MetricHistoryStore & RequestLog;

/** Experiments: ids, names (unique), lifecycle and tags. */
export interface ExperimentStore {
  /** A new, never-used experiment id ("1", "2", ...). */
  allocateExperimentId(): Promise<string>;
  /** Creates the experiment and claims its name; 'name-taken' when another experiment has it. */
  createExperiment(exp: Experiment): Promise<'created' | 'name-taken'>;
  getExperiment(id: string): Promise<Experiment | undefined>;
  findExperimentIdByName(name: string): Promise<string | undefined>;
  /** Moves the name claim and renames; 'name-taken' when the new name belongs to another. */
  renameExperiment(exp: Experiment, newName: string, now: number): Promise<'ok' | 'name-taken'>;
  setExperimentLifecycle(id: string, stage: LifecycleStage, now: number): Promise<void>;
  setExperimentTag(id: string, key: string, value: string, now: number): Promise<void>;
  listExperiments(): Promise<Experiment[]>;
}

/** Runs: info, params, tags, latest metrics and dataset inputs. */
export interface RunStore {
  /** Writes a new run; idempotent for the same run id. */
  createRun(run: RunRecord): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  updateRunInfo(
    runId: string,
    changes: Partial<Pick<RunInfo, 'status' | 'end_time' | 'run_name' | 'lifecycle_stage'>>,
  ): Promise<void>;
  /**
   * Writes params (immutable: a different value for a logged key throws
   * InvalidParameterError), sets and deletes tags, and raises each metric's latest value
   * only where the new point's (step, timestamp, value) is greater than the stored one.
   */
  writeRunData(
    runId: string,
    data: {
      params?: Readonly<Record<string, string>>;
      tags?: Readonly<Record<string, string>>;
      deleteTags?: readonly string[];
      latest?: readonly Metric[];
    },
  ): Promise<void>;
  /** Adds dataset inputs (deduplicated by name and digest). */
  addRunInputs(runId: string, inputs: readonly DatasetInput[]): Promise<void>;
  /**
   * Runs of one experiment by start time descending (then run id ascending), each with its
   * index position; pages start after `after` and read about `limit` runs. With `prefilter`
   * the store may leave out runs that fail it (it never drops one that passes); `last` is
   * the position the page read up to, whether or not that run was returned.
   */
  scanRuns(
    experimentId: string,
    page: { after?: string; limit: number; prefilter?: readonly PrefilterClause[] },
  ): Promise<{ runs: { run: RunRecord; position: string }[]; done: boolean; last?: string }>;
}

/** Every logged point of a run's metrics. */
export interface MetricHistoryStore {
  /** Appends metric points; a retried point has the same item key, so nothing duplicates. */
  appendMetricHistory(runId: string, metrics: readonly Metric[]): Promise<void>;
  /** One metric's points in (step, timestamp, value) order, paged after a position. */
  metricHistory(
    runId: string,
    key: string,
    page: { after?: string; limit: number },
  ): Promise<{ metrics: Metric[]; last?: string }>;
}

/** Answers of non-idempotent creates (see domain/idempotency.ts). */
export interface RequestLog {
  /**
   * Remembers the answer of a non-idempotent create for a while so a client's retry gets
   * the same answer instead of a duplicate. `claim` returns a stored answer, 'claimed' for
   * the first caller, or 'busy' while another request holds the claim.
   */
  claimRequest(fingerprint: string, ttlSeconds: number): Promise<{ result: unknown } | 'claimed' | 'busy'>;
  completeRequest(fingerprint: string, result: unknown, ttlSeconds: number): Promise<void>;
  releaseRequest(fingerprint: string): Promise<void>;
}
