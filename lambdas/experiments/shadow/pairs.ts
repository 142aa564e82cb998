import { createHash } from 'node:crypto';
import type { LoggedPrediction } from '../../monitoring/log/record';
import { scoreDataset } from '../../serving/domain/predict';
import { columnsToDataset } from '../../serving/domain/rows';
import type { ServedModel } from '../../serving/domain/served-model';
import type { ShadowConfig } from './config';

/** Whether agreement is judged as a class at 0.5 or within a tolerance. */
export type ShadowTask = 'classification' | 'regression';

/** One scored row: what the live version answered and what the shadow would have. */
export interface ShadowPair {
  readonly request_id: string;
  /** Row of the request (a batch request has several). */
  readonly row: number;
  /** When the live version answered (ISO 8601). */
  readonly timestamp: string;
  readonly live_version: string;
  readonly live_prediction: number;
  readonly shadow_version: string;
  /** Null when the shadow failed on the request (`shadow_error` says why). */
  readonly shadow_prediction: number | null;
  readonly shadow_error?: string;
}

/** The file of one batch's pairs. */
export interface ShadowPairsFile {
  readonly model: string;
  readonly shadow_version: string;
  readonly task: ShadowTask;
  readonly pairs: readonly ShadowPair[];
}

/** A classifier's primary output is a probability; anything else is compared as a value. */
export function taskOf(model: Pick<ServedModel, 'signature'>): ShadowTask {
  return model.signature.outputs.some((o) => o.meaning === 'probability') ? 'classification' : 'regression';
}

/**
 * Whether a request is in the shadow's sample: the first 32 bits of sha256(request id) as a
 * share below `rate`, so a redelivered batch samples the same requests.
 */
export function sampled(requestId: string, rate: number): boolean {
  if (rate >= 1) return true;
  return createHash('sha256').update(requestId).digest().readUInt32BE(0) / 2 ** 32 < rate;
}

/**
 * Scores the logged requests of the shadow's model (successful answers in its sample) with
 * the shadow version, on the very inputs the live version was fed, one model call per
 * request. A request the shadow cannot score (its signature wants a feature the live
 * version was not fed, or the model throws) gives pairs with `shadow_error`: the shadow's
 * failure is a finding of the report, not a reason to redeliver the batch.
 *
 * @example
 * const pairs = await scorePairs(records, config, await models.load(config.version));
 */
export async function scorePairs(
  records: readonly LoggedPrediction[],
  config: ShadowConfig,
  shadow: ServedModel | { readonly version: string; readonly error: string },
): Promise<ShadowPair[]> {
  const out: ShadowPair[] = [];
  for (const r of records) {
    if (r.model !== config.model || r.status !== 200 || !r.predictions.length) continue;
    if (!sampled(r.requestId, config.sample_rate)) continue;
    const base = r.part && r.part > 1 ? (r.part - 1) * 100 : 0;
    let shadowValues: ArrayLike<number> | undefined;
    let error = 'error' in shadow ? shadow.error : undefined;
    if (!('error' in shadow)) {
      try {
        const columns = new Map(Object.entries(r.inputs));
        const ds = columnsToDataset(shadow.signature, columns, r.predictions.length, 'the logged request');
        shadowValues = (await scoreDataset(shadow, ds)).predictions;
      } catch (err) {
        error = (err as Error).message || String(err);
      }
    }
    r.predictions.forEach((live, i) => {
      const value = shadowValues?.[i];
      out.push({
        request_id: r.requestId,
        row: base + i,
        timestamp: new Date(r.timestamp).toISOString(),
        live_version: r.version,
        live_prediction: live,
        shadow_version: config.version,
        shadow_prediction: value === undefined || !Number.isFinite(value) ? null : value,
        ...(value === undefined && error ? { shadow_error: error } : {}),
      });
    });
  }
  return out;
}
