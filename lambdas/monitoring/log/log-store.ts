import { gunzipSync, gzipSync } from 'node:zlib';
import type { ObjectStore } from '../../platform/object-store';
import type { LoggedPrediction } from './record';

/**
 * The shipper's subscription filter: prediction lines of successful requests. A rejected
 * request (4xx) carries whatever model name the caller sent, so shipping it would store
 * partitions of models that do not exist.
 */
export const PREDICTION_LOG_FILTER = '{ $.mlops_prediction = 1 && $.status = 200 }';

/** Prefix of the prediction log in the monitoring bucket. */
export const PREDICTIONS_PREFIX = 'predictions';

/**
 * One scored row as stored in S3: one JSON object per line (NDJSON, gzip), which the Glue
 * table (lib/monitoring/monitoring.ts) reads with the OpenX JSON SerDe and DuckDB with
 * `read_json`. A failed request is one line with `row` and `prediction` null.
 */
export interface StoredPrediction {
  readonly request_id: string;
  readonly model: string;
  readonly version: string;
  readonly variant: string;
  readonly api: string;
  /** Epoch milliseconds of the answer, and the same instant as ISO 8601. */
  readonly ts: number;
  readonly timestamp: string;
  readonly status: number;
  readonly latency_ms: number | null;
  /** The row's index in its request; null for a failure. */
  readonly row: number | null;
  readonly inputs: Record<string, unknown>;
  readonly prediction: number | null;
  readonly entities?: Record<string, unknown>;
  readonly error_code?: string;
  /** Further fields of the log line (an experiment's arm, unit ids) as a JSON string. */
  readonly extra?: string;
}

/** The UTC date of an instant, yyyy-mm-dd (the `date` partition). */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Model names go into a key segment: anything that would end the segment is escaped. */
const segment = (model: string) => encodeURIComponent(model);

/** The prefix of one model's log on one day. */
export function partitionPrefix(model: string, date: string): string {
  return `${PREDICTIONS_PREFIX}/model=${segment(model)}/date=${date}/`;
}

/**
 * The key of one delivered batch's records for a model and day, named by the batch (the
 * first log event's id), so a redelivered batch overwrites its file instead of adding one.
 */
export function batchKey(model: string, date: string, batchId: string): string {
  if (!/^[\w.-]{1,200}$/.test(batchId)) throw new Error(`batch id '${batchId}' is not a safe key segment`);
  return `${partitionPrefix(model, date)}${batchId}.json.gz`;
}

const finiteOrNull = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);

/** A logged line (up to 100 rows of one request) as its stored rows. */
export function storedRows(r: LoggedPrediction): StoredPrediction[] {
  const base = {
    request_id: r.requestId,
    model: r.model,
    version: r.version,
    variant: r.variant,
    api: r.api,
    ts: r.timestamp,
    timestamp: new Date(r.timestamp).toISOString(),
    status: r.status,
    latency_ms: finiteOrNull(r.latencyMs),
    ...(r.errorCode ? { error_code: r.errorCode } : {}),
    ...(Object.keys(r.extra).length ? { extra: JSON.stringify(r.extra) } : {}),
  };
  if (!r.predictions.length) return [{ ...base, row: null, inputs: {}, prediction: null }];
  // Rows of a later part continue the numbering of the request (100 rows per line).
  const offset = r.part ? (r.part - 1) * 100 : 0;
  const pick = (cols: Readonly<Record<string, readonly unknown[]>>, i: number) =>
    Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v[i] ?? null]));
  return r.predictions.map((p, i) => ({
    ...base,
    row: offset + i,
    inputs: pick(r.inputs, i),
    prediction: finiteOrNull(p),
    ...(r.entities ? { entities: pick(r.entities, i) } : {}),
  }));
}

/**
 * Writes one delivered batch of log records: grouped by model and UTC day, each group as one
 * gzipped NDJSON object named by the batch. Returns the keys written.
 *
 * @example
 * await writeBatch(store, 'monitoring', records, logEvents[0].id);
 */
export async function writeBatch(
  store: ObjectStore,
  bucket: string,
  records: readonly LoggedPrediction[],
  batchId: string,
): Promise<string[]> {
  const groups = new Map<string, string[]>();
  for (const r of records) {
    const key = batchKey(r.model, utcDate(r.timestamp), batchId);
    let lines = groups.get(key);
    if (!lines) {
      lines = [];
      groups.set(key, lines);
    }
    for (const row of storedRows(r)) lines.push(JSON.stringify(row));
  }
  await Promise.all(
    [...groups].map(([key, lines]) =>
      store.put(bucket, key, gzipSync(`${lines.join('\n')}\n`), { contentType: 'application/x-ndjson' }),
    ),
  );
  return [...groups.keys()];
}

/** The dates (UTC) an interval [from, to) touches. */
export function datesBetween(from: number, to: number): string[] {
  const out: string[] = [];
  const day = 86_400_000;
  for (let t = Math.floor(from / day) * day; t < to; t += day) out.push(utcDate(t));
  return out;
}

/**
 * Streams one model's stored rows in [from, to), one object at a time (memory holds one
 * batch file, never the window), in key order.
 *
 * @example
 * for await (const row of readWindow(store, 'monitoring', 'churn', from, to)) count++;
 */
export async function* readWindow(
  store: ObjectStore,
  bucket: string,
  model: string,
  from: number,
  to: number,
): AsyncGenerator<StoredPrediction> {
  for (const date of datesBetween(from, to)) {
    for (const obj of await store.list(bucket, partitionPrefix(model, date))) {
      if (!obj.key.endsWith('.json.gz')) continue;
      const bytes = await store.get(bucket, obj.key);
      if (!bytes) continue;
      const text = gunzipSync(bytes).toString('utf8');
      let start = 0;
      while (start < text.length) {
        let end = text.indexOf('\n', start);
        if (end === -1) end = text.length;
        if (end > start) {
          const row = JSON.parse(text.slice(start, end)) as StoredPrediction;
          if (row.ts >= from && row.ts < to) yield row;
        }
        start = end + 1;
      }
    }
  }
}
