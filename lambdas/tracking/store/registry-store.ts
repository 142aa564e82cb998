import type { ModelVersion, RegisteredModel, RegistryChange, Stage } from '../domain/model';

/** A stage move of one version, part of a pending transition. */
export interface StageMove {
  readonly version: string;
  readonly from: Stage;
  readonly to: Stage;
}

/**
 * A transition decided (committed on the model item under its revision) but perhaps not
 * yet applied to the version items; whoever finds it applies it, so a crash between the
 * writes is finished by the next writer.
 */
export interface PendingTransition {
  readonly id: string;
  readonly rev: number;
  readonly moves: readonly StageMove[];
  readonly user_id: string;
  readonly timestamp: number;
}

/**
 * One run of a version's registration check. The check's final write is conditional on it,
 * so a reader that takes over a check abandoned by a crash (a newer attempt) wins over a
 * late original writer, and two readers never both take over.
 */
export interface RegistrationAttempt {
  /** When the attempt started (epoch ms): how old it is. */
  readonly startedAt: number;
  /** 1 for the create's own check, 2 for a reader's retry. */
  readonly attempt: number;
  /** A version written before attempts were recorded (matched on its last update instead). */
  readonly legacy?: boolean;
}

/** A registered model with its concurrency state. */
export interface StoredModel {
  readonly model: RegisteredModel;
  /** Revision counter: every stage or alias change bumps it under a condition. */
  readonly rev: number;
  /** The one version in Production, if any (the invariant lives here, on one item). */
  readonly production?: string;
  readonly pending?: PendingTransition;
}

/**
 * The registry store port. Invariants spanning items (one Production version, alias
 * targets) are committed by compare-and-set on the model item's revision.
 */
export interface RegistryStore {
  /** 'exists' when a model has the name. */
  createModel(model: RegisteredModel): Promise<'created' | 'exists'>;
  getModel(name: string): Promise<StoredModel | undefined>;
  listModels(): Promise<RegisteredModel[]>;
  updateModel(
    name: string,
    changes: { description?: string; setTags?: Record<string, string>; deleteTags?: string[] },
    now: number,
  ): Promise<void>;
  /** Deletes the model item, its versions and its change records. */
  deleteModel(name: string): Promise<void>;
  /**
   * Copies a model with its versions and changes under a new name, then deletes the old one.
   * Crash-safe: once the new name is written, a reader of either name finishes the rename.
   */
  renameModel(name: string, newName: string, now: number): Promise<'ok' | 'exists'>;
  /** The next version number ("1", "2", ...). */
  nextVersion(name: string): Promise<string>;
  /** Writes a version; a PENDING_REGISTRATION one with the attempt its check runs under. */
  putVersion(version: ModelVersion, registration?: RegistrationAttempt): Promise<void>;
  /** The current check attempt of a PENDING_REGISTRATION version; undefined for any other. */
  registrationOf(name: string, version: string): Promise<RegistrationAttempt | undefined>;
  /**
   * Writes a registration outcome (or, with `next`, takes the check over under a new
   * attempt) if the version is still PENDING_REGISTRATION under `expected`; false otherwise.
   */
  settleRegistration(
    name: string,
    version: string,
    expected: RegistrationAttempt,
    changes: Pick<ModelVersion, 'status' | 'status_message' | 'last_updated_timestamp'>,
    next?: RegistrationAttempt,
  ): Promise<boolean>;
  getVersion(name: string, version: string): Promise<ModelVersion | undefined>;
  listVersions(name: string): Promise<ModelVersion[]>;
  updateVersion(
    name: string,
    version: string,
    changes: Partial<
      Pick<ModelVersion, 'description' | 'status' | 'status_message' | 'last_updated_timestamp'>
    > & {
      setTags?: Record<string, string>;
      deleteTags?: string[];
    },
  ): Promise<void>;
  deleteVersion(name: string, version: string): Promise<void>;
  /**
   * Commits a change on the model item if its revision is still `expectedRev`: a new
   * Production pointer, alias edits and/or a pending transition. False when another writer won.
   */
  compareAndSetModel(
    name: string,
    expectedRev: number,
    changes: {
      production?: string | null;
      setAlias?: [string, string];
      deleteAlias?: string;
      pending?: PendingTransition;
    },
    now: number,
  ): Promise<boolean>;
  /** Applies one move of a pending transition, unless a later transition already moved the version. */
  applyStage(name: string, move: StageMove, rev: number, now: number): Promise<void>;
  clearPending(name: string, pendingId: string): Promise<void>;
  /** Records a change; the same change id is written once. */
  addChange(change: RegistryChange, id: string): Promise<void>;
  listChanges(name: string): Promise<RegistryChange[]>;
}
