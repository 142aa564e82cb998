import type { ItemVersion, OnlineItem } from './online-item';

/** What is known of a view's materialization: its watermark and the run in progress, if any. */
export interface MaterializationState {
  /** End (epoch micros) of the last completed run; incremental runs start here. */
  readonly watermark?: number;
  readonly run?: {
    readonly runId: string;
    /** Epoch millis after which another run may take over. */
    readonly leaseUntil: number;
    readonly chunks: number;
    readonly done: readonly number[];
  };
}

/**
 * The online-store port: what materialization, retrieval and push need of DynamoDB. The
 * adapter (`dynamo-online-table.ts`) batches, parallelizes and retries; domain code stays free
 * of the AWS SDK and a test can run it against dynalite.
 */
export interface OnlineTable {
  /** Items by pk, reading only `attributes` (plus the version), or all; missing keys are absent. */
  getItems(
    pks: readonly string[],
    attributes: readonly string[] | 'all',
  ): Promise<Map<string, Record<string, unknown>>>;
  /** Versions (and rev) of items by pk. */
  getVersions(pks: readonly string[]): Promise<Map<string, ItemVersion & { rev?: string }>>;
  /** Unconditional writes in batches of 25 (callers make sure no writer races them). */
  putItems(items: readonly OnlineItem[]): Promise<void>;
  /** Writes only when newer than the stored version; false when the stored one is as new or newer. */
  putIfNewer(item: OnlineItem): Promise<boolean>;
  /** Writes only when the stored item still has `rev` (undefined: when none exists); false on a race. */
  putIfRev(item: OnlineItem, rev: string | undefined): Promise<boolean>;
  /** Reads a view's materialization state. */
  getState(view: string): Promise<MaterializationState>;
  /**
   * Takes the view's run lease for `runId` until `leaseUntil` (epoch ms): succeeds when no run
   * holds it, the holder's lease expired, or the holder is the same run (a rerun after a crash).
   * Returns the state after taking it, or the holder when refused.
   */
  beginRun(
    view: string,
    runId: string,
    chunks: number,
    leaseUntil: number,
    nowMs: number,
  ): Promise<{ ok: true; state: MaterializationState } | { ok: false; holder: string; until: number }>;
  /** Records a finished chunk of the run and renews its lease until `leaseUntil` (epoch ms). */
  chunkDone(view: string, runId: string, chunk: number, leaseUntil: number): Promise<void>;
  /** Ends the run: advances the watermark to `end` (never backwards) and releases the lease. */
  finishRun(view: string, runId: string, end: number): Promise<void>;
}
