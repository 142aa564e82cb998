/**
 * The experiment store's port: what the experiment routes, the predict function and the
 * exposure sink need from storage. One DynamoDB adapter (`dynamo-experiment-store.ts`)
 * implements it; dynalite has no transactions, so every multi-item change is a sequence of
 * conditional writes that a reader can finish or undo (docs/experiments.md).
 */

import type { SequentialState } from '../domain/looks';

/**
 * `starting`: recorded, not yet serving; `running`: the predict function assigns units;
 * `stopped`: no longer serving (outcomes still accepted); `failed`: a create interrupted
 * before it took the model's running slot.
 */
export type ExperimentStatus = 'starting' | 'running' | 'stopped' | 'failed';

/** What serving needs to assign a unit: fixed when the experiment is created. */
export interface ExperimentPlan {
  readonly id: string;
  readonly model: string;
  readonly control_version: string;
  readonly treatment_version: string;
  /** Shares of units as fractions summing to 1. */
  readonly allocation: { readonly control: number; readonly treatment: number };
  readonly salt: string;
}

export interface StoredExperiment extends ExperimentPlan {
  readonly status: ExperimentStatus;
  /** ISO-8601 times. */
  readonly created_at: string;
  readonly started_at?: string;
  readonly stopped_at?: string;
  /** Why the status is what it is, when a reader had to settle it. */
  readonly status_message?: string;
}

/** A unit served by one arm (recorded once, from the prediction log). */
export interface Exposure {
  readonly experiment: string;
  readonly unit: string;
  readonly arm: string;
  /** Epoch milliseconds of the prediction. */
  readonly at: number;
}

/** One recorded outcome, with the arm its unit was exposed to. */
export interface StoredOutcome {
  readonly outcome_id: string;
  readonly unit_id: string;
  readonly arm: string;
  readonly converted: boolean;
  readonly value: number;
  readonly timestamp: string;
}

export interface ExperimentStore {
  /** Writes a new experiment; the one stored under the id when it exists already. */
  insert(exp: StoredExperiment): Promise<StoredExperiment | undefined>;
  get(id: string): Promise<StoredExperiment | undefined>;
  /** A model's experiments, newest first. */
  listByModel(model: string): Promise<StoredExperiment[]>;
  /** Moves the status when it is one of `from`; false when it was not. */
  setStatus(
    id: string,
    from: readonly ExperimentStatus[],
    to: ExperimentStatus,
    fields?: { started_at?: string; stopped_at?: string; status_message?: string },
  ): Promise<boolean>;
  /** Removes an experiment still in `status` (a create refused after its record was written). */
  remove(id: string, status: ExperimentStatus): Promise<void>;

  /** The plan holding a model's running slot, if any. */
  running(model: string): Promise<ExperimentPlan | undefined>;
  /** Takes the model's running slot for `plan`; the holder's id when another holds it. */
  claimRunning(plan: ExperimentPlan): Promise<string | undefined>;
  /** Releases the model's running slot if `id` holds it. */
  releaseRunning(model: string, id: string): Promise<void>;

  /** Records exposures not yet recorded (conditional puts); answers how many were new. */
  recordExposures(exposures: readonly Exposure[]): Promise<number>;
  /** The arm of each of `units` that has an exposure in the experiment. */
  exposedArms(experiment: string, units: readonly string[]): Promise<Map<string, string>>;
  /** Exposed units per arm. */
  exposureCounts(experiment: string): Promise<Map<string, number>>;

  /** The stored outcomes among `ids`. */
  getOutcomes(experiment: string, ids: readonly string[]): Promise<Map<string, StoredOutcome>>;
  /**
   * Writes outcomes whose id is not stored yet (conditional puts); answers the ids that
   * another writer stored first, with what it stored.
   */
  putOutcomes(experiment: string, outcomes: readonly StoredOutcome[]): Promise<Map<string, StoredOutcome>>;
  /** Every outcome of the experiment, page by page. */
  outcomes(experiment: string): AsyncIterable<readonly StoredOutcome[]>;

  /** The sequential state stored under `key`, with its revision for {@link putSequentialState}. */
  sequentialState(
    experiment: string,
    key: string,
  ): Promise<{ state: SequentialState; revision: number } | undefined>;
  /**
   * Writes the state if its stored revision is still `revision` (undefined: none stored yet),
   * as revision + 1; false when another writer changed it first.
   */
  putSequentialState(
    experiment: string,
    key: string,
    state: SequentialState,
    revision: number | undefined,
  ): Promise<boolean>;
}
