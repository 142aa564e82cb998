import type { ItemVersion, OnlineItem } from './online-item';

/** What is known of a view's materialization: its watermark, reach and the run in progress, if any. */
export interface MaterializationState {
  /** End (epoch micros) of the last completed run; incremental runs start here. */
  readonly watermark?: number;
  /**
   * The greatest event time (epoch micros) any run or push may have written online for the
   * view: every writer raises it before writing, so no stored item of the view is newer.
   */
  readonly reach?: number;
  readonly run?: {
    readonly runId: string;
    /** Epoch millis after which another run may take over. */
    readonly leaseUntil: number;
    readonly chunks: number;
    readonly done: readonly number[];
    /** The reach just before this run raised it: stored items have event times at or below it. */
    readonly floor?: number;
  };
}

/** Reach of a view nothing was ever written to: below every event time. */
export const NO_REACH = Number.MIN_SAFE_INTEGER;
/** Reach of a view written by code that kept none (before the reach existed): assume anything. */
export const UNKNOWN_REACH = Number.MAX_SAFE_INTEGER;

const microsToIso = (us: number | undefined) =>
  us === undefined || us === NO_REACH || us === UNKNOWN_REACH
    ? null
    : new Date(Math.floor(us / 1000)).toISOString();

/**
 * A view's freshness as people read it: online up to when, the newest event written, and
 * whether a run holds the lease at `now` (epoch millis).
 *
 * @example
 * materializationSummary({ watermark: 1_700_000_000_000_000 }, Date.now())
 * // { materialized_until: '2023-11-14T22:13:20.000Z', newest_event: null, running: false }
 */
export function materializationSummary(state: MaterializationState, now: number) {
  return {
    materialized_until: microsToIso(state.watermark),
    newest_event: microsToIso(state.reach),
    running: state.run !== undefined && state.run.leaseUntil > now,
  };
}

/**
 * The online-store port: what materialization, retrieval and push need of DynamoDB, the
 * feature items and each view's materialization state. The adapter
 * (`dynamo-online-table.ts`) batches, parallelizes and retries; domain code stays free of the
 * AWS SDK and a test can run it against dynalite.
 */
export type OnlineTable = OnlineItems & MaterializationStates;

/** Feature items: latest values per entity key, with their versions. */
export interface OnlineItems {
  /** Items by pk, reading only `attributes` (and `pk`), or all; missing keys are absent. */
  getItems(
    pks: readonly string[],
    attributes: readonly string[] | 'all',
  ): Promise<Map<string, Record<string, unknown>>>;
  /** Versions (and rev) of items by pk. */
  getVersions(pks: readonly string[]): Promise<Map<string, ItemVersion & { rev?: string }>>;
  /** Unconditional writes in batches of 25 (callers make sure no older item replaces a newer one). */
  putItems(items: readonly OnlineItem[]): Promise<void>;
  /** Writes only when newer than the stored version; false when the stored one is as new or newer. */
  putIfNewer(item: OnlineItem): Promise<boolean>;
  /** Writes only when the stored item still has `rev` (undefined: when none exists); false on a race. */
  putIfRev(item: OnlineItem, rev: string | undefined): Promise<boolean>;
}

/** Each view's materialization state: watermark, reach, and the run in progress with its lease. */
export interface MaterializationStates {
  /** Reads a view's materialization state. */
  getState(view: string): Promise<MaterializationState>;
  /**
   * Raises the view's reach to `to` (epoch micros) unless it is already there or above, before
   * the caller writes items with event times up to `to`. Returns the reach just before (or, when
   * it already was at or above `to`, a value at least as high): `NO_REACH` when nothing was
   * ever written, `UNKNOWN_REACH` when the view was written before reaches were kept.
   */
  raiseReach(view: string, to: number): Promise<number>;
  /**
   * Takes the view's run lease for `runId` until `leaseUntil` (epoch ms): succeeds when no run
   * holds it, the holder's lease expired, or the holder is the same run (a rerun after a crash).
   * Then raises the view's reach to `reach` (the run's greatest event time) and, the first time,
   * records the reach from before as the run's `floor`. Returns the state after, or the holder.
   */
  beginRun(
    view: string,
    runId: string,
    chunks: number,
    leaseUntil: number,
    nowMs: number,
    reach: number,
  ): Promise<{ ok: true; state: MaterializationState } | { ok: false; holder: string; until: number }>;
  /**
   * Extends the run's lease to `leaseUntil` (epoch ms) if `runId` still holds it at `nowMs`;
   * false when the lease expired or another run took the view.
   */
  renewLease(view: string, runId: string, leaseUntil: number, nowMs: number): Promise<boolean>;
  /** Records a finished chunk of the run and renews its lease until `leaseUntil` (epoch ms). */
  chunkDone(view: string, runId: string, chunk: number, leaseUntil: number): Promise<void>;
  /** Ends the run: advances the watermark to `end` (never backwards) and releases the lease. */
  finishRun(view: string, runId: string, end: number): Promise<void>;
}
