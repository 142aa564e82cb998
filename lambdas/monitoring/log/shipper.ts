import type { ObjectStore } from '../../platform/object-store';
import { writeBatch } from './log-store';
import { parsePredictionLine } from './parse';
import type { LoggedPrediction, PredictionSink } from './record';

/** One CloudWatch Logs event of a subscription delivery. */
export interface LogEventIn {
  readonly id: string;
  readonly message: string;
}

export interface ShipperDeps {
  readonly store: ObjectStore;
  readonly bucket: string;
  /** Each batch goes to every sink after it is stored; a failing sink fails the delivery, which is retried. */
  readonly sinks: readonly PredictionSink[];
  /** Where lines that are not prediction records are reported (they are skipped, not fatal). */
  readonly warn?: (message: string) => void;
}

export interface ShipResult {
  readonly records: number;
  readonly skipped: number;
  readonly keys: readonly string[];
}

/**
 * Stores one delivered batch of prediction log events in S3 (partitioned by model and UTC
 * day, one file per partition named by the batch's first event id) and then hands the
 * parsed records to each sink. A redelivered batch rewrites the same files, so the log holds
 * each prediction once; sinks must be idempotent too (PredictionSink). Lines that do not
 * parse are skipped with a warning: one bad line must not block the rest of the log.
 *
 * @example
 * await shipLogEvents({ store, bucket: 'monitoring', sinks: [] }, logEvents);
 */
export async function shipLogEvents(deps: ShipperDeps, events: readonly LogEventIn[]): Promise<ShipResult> {
  if (!events.length) return { records: 0, skipped: 0, keys: [] };
  const records: LoggedPrediction[] = [];
  let skipped = 0;
  for (const e of events) {
    const parsed = parsePredictionLine(e.message);
    if (parsed.ok) records.push(parsed.record);
    else {
      skipped++;
      deps.warn?.(`log event ${e.id} skipped: ${parsed.reason}`);
    }
  }
  const keys = records.length ? await writeBatch(deps.store, deps.bucket, records, events[0]!.id) : [];
  if (records.length) {
    for (const sink of deps.sinks) await sink.write(records);
  }
  return { records: records.length, skipped, keys };
}
