import { mapLimit } from '../../platform/concurrency';
import { ConflictError, InvalidParameterError, NotFoundError } from '../../platform/errors';

/** What a label needs of a logged request: its model version and how many rows it scored. */
export interface IndexedRequest {
  readonly requestId: string;
  readonly model: string;
  readonly version: string;
  readonly variant: string;
  /** Epoch milliseconds of the prediction. */
  readonly timestamp: number;
  readonly rows: number;
  /** The A/B experiment's arm that answered (`control` or `treatment`); absent for other traffic. */
  readonly arm?: string;
}

/** A stored label: one value per row of the request (a one-row request has one). */
export interface StoredLabel {
  readonly requestId: string;
  readonly values: readonly number[];
  /** When the outcome was observed (the caller's `timestamp`), epoch ms. */
  readonly observedAt: number;
  /** When the label arrived, epoch ms. */
  readonly receivedAt: number;
}

/** Where labels are checked and kept (the prediction index's table). */
export interface LabelStore {
  /** The indexed requests among these ids (absent: never logged, or expired). */
  requests(ids: readonly string[]): Promise<Map<string, IndexedRequest>>;
  /** The labels already stored for these ids. */
  labels(ids: readonly string[]): Promise<Map<string, StoredLabel>>;
  /**
   * Writes one label for an indexed request: `create` only if the id has none yet (answers
   * 'exists' otherwise), `replace` whatever is there.
   */
  putLabel(
    label: StoredLabel,
    request: IndexedRequest,
    mode: 'create' | 'replace',
  ): Promise<'written' | 'exists'>;
}

export interface LabelInput {
  readonly request_id: string;
  readonly label: number | boolean | readonly (number | boolean)[];
  /** When the outcome was observed: epoch ms or an ISO 8601 time. @default the arrival time */
  readonly timestamp?: number | string;
}

export interface LabelBatch {
  readonly labels: readonly LabelInput[];
  /** Overwrite labels that differ from the stored ones (corrections) instead of answering 409. */
  readonly replace?: boolean;
}

export interface LabelResult {
  /** Labels in the request. */
  readonly received: number;
  /** Labels stored now (new, or replaced). */
  readonly written: number;
  /** Labels equal to what was stored already (a retry): nothing changed. */
  readonly unchanged: number;
}

/** Most labels per request. */
export const MAX_LABELS = 1000;
const SHOWN = 20;

function listed(ids: readonly string[]): string {
  const shown = ids.slice(0, SHOWN).map((id) => `'${id}'`);
  return ids.length > SHOWN ? `${shown.join(', ')} and ${ids.length - SHOWN} more` : shown.join(', ');
}

function toValues(label: LabelInput['label']): number[] {
  const one = (v: number | boolean) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
  return Array.isArray(label) ? label.map(one) : [one(label as number | boolean)];
}

function observedAt(t: LabelInput['timestamp'], now: number, id: string): number {
  if (t === undefined) return now;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) {
    throw new InvalidParameterError(
      `timestamp of '${id}' must be epoch milliseconds or an ISO 8601 time, got ${JSON.stringify(t)}`,
    );
  }
  return ms;
}

const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Stores delayed labels (ground truth) for logged predictions, by request id. The whole
 * batch is checked before anything is written: an id the prediction index does not hold
 * (never logged, not yet shipped, or older than the index's TTL) is 404 naming it, a label
 * whose row count differs from the request's is 400, and a label that differs from the one
 * already stored is 409 naming the id (unless `replace`); then nothing is written. The same
 * label again is a no-op, so a batch can be retried safely.
 *
 * @example
 * await storeLabels(store, { labels: [{ request_id: 'c0ffee', label: true }] });
 */
export async function storeLabels(
  store: LabelStore,
  batch: LabelBatch,
  now = Date.now(),
): Promise<LabelResult> {
  if (!batch.labels.length) throw new InvalidParameterError('labels must hold at least one label');
  if (batch.labels.length > MAX_LABELS) {
    throw new InvalidParameterError(
      `labels holds ${batch.labels.length} labels; send at most ${MAX_LABELS} per request`,
    );
  }
  // One label per id; the same id twice with the same values is one label.
  const wanted = new Map<string, StoredLabel>();
  for (const l of batch.labels) {
    const values = toValues(l.label);
    const prior = wanted.get(l.request_id);
    if (prior && !same(prior.values, values)) {
      throw new InvalidParameterError(`request_id '${l.request_id}' appears twice with different labels`);
    }
    wanted.set(l.request_id, {
      requestId: l.request_id,
      values,
      observedAt: observedAt(l.timestamp, now, l.request_id),
      receivedAt: now,
    });
  }
  const ids = [...wanted.keys()];
  const [requests, stored] = await Promise.all([store.requests(ids), store.labels(ids)]);
  const unknown = ids.filter((id) => !requests.has(id));
  if (unknown.length) {
    throw new NotFoundError(
      `No logged prediction for request id ${listed(unknown)} (unknown, not yet shipped from the prediction log, or past the index's retention); nothing was stored`,
    );
  }
  for (const [id, label] of wanted) {
    const rows = (requests.get(id) as IndexedRequest).rows;
    if (label.values.length !== rows) {
      throw new InvalidParameterError(
        rows === 1
          ? `request '${id}' scored 1 row: send one label, not ${label.values.length}`
          : `request '${id}' scored ${rows} rows: send an array of ${rows} labels, one per row in the order sent (got ${label.values.length})`,
      );
    }
  }
  const differing = ids.filter((id) => {
    const s = stored.get(id);
    return s && !same(s.values, (wanted.get(id) as StoredLabel).values);
  });
  if (differing.length && !batch.replace) {
    throw new ConflictError(
      `Request id ${listed(differing)} already has a different label; send "replace": true to correct it; nothing was stored`,
    );
  }
  const toWrite = ids.filter((id) => !stored.has(id) || differing.includes(id));
  const outcomes = await mapLimit(toWrite, 16, (id) =>
    store.putLabel(
      wanted.get(id) as StoredLabel,
      requests.get(id) as IndexedRequest,
      stored.has(id) ? 'replace' : 'create',
    ),
  );
  const lost = toWrite.filter((_, i) => outcomes[i] === 'exists');
  // A concurrent writer stored a label for an id between the check and the write.
  if (lost.length) {
    const now2 = await store.labels(lost);
    const conflicting = lost.filter(
      (id) => !same(now2.get(id)?.values ?? [], (wanted.get(id) as StoredLabel).values),
    );
    if (conflicting.length) {
      throw new ConflictError(
        `Request id ${listed(conflicting)} was labelled differently by a concurrent request; the other labels of this batch were stored, and retrying it is safe`,
      );
    }
  }
  return {
    received: batch.labels.length,
    written: toWrite.length - lost.length,
    unchanged: ids.length - toWrite.length + lost.length,
  };
}
