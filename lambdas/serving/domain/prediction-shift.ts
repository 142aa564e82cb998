import type { BaselineProfile } from '../../monitoring/profile/baseline-profile';
import type { ObjectStore } from '../../platform/object-store';
import { storagePrefixOf } from '../../tracking/artifacts/artifact-paths';

/** Where training logs the baseline profile, under the run's artifact root. */
export const BASELINE_PROFILE_PATH = 'profile/baseline_profile.json';

/**
 * The central 98% of a version's predictions on its test set (the baseline profile's 1% and
 * 99% quantiles). A version serving traffic like its test set puts about 2% of its
 * predictions outside; a shifted one many more.
 */
export interface PredictionRange {
  readonly low: number;
  readonly high: number;
}

/**
 * The central 98% of a baseline profile's predictions, or undefined when the profile has no
 * usable quantiles (no test rows, or a profile of another shape).
 *
 * @example
 * predictionRange(profile); // { low: 0.03, high: 0.97 }
 */
export function predictionRange(profile: unknown): PredictionRange | undefined {
  const q = (profile as Partial<BaselineProfile> | undefined)?.predictions?.quantiles;
  const low = q?.['0.01'];
  const high = q?.['0.99'];
  if (typeof low !== 'number' || typeof high !== 'number' || !(low <= high)) return undefined;
  return { low, high };
}

/**
 * Per prediction, 1 when it lies outside the range (a NaN too: nothing like the baseline),
 * else 0: the `PredictionShift` metric, whose average over a period is the share outside.
 *
 * @example
 * shiftFlags([0.5, 0.99], { low: 0.1, high: 0.9 }); // [0, 1]
 */
export function shiftFlags(
  predictions: ArrayLike<number>,
  range: PredictionRange,
  from = 0,
  to = predictions.length,
): number[] {
  const out = new Array<number>(to - from);
  for (let i = from; i < to; i++) {
    const v = predictions[i] as number;
    out[i - from] = v >= range.low && v <= range.high ? 0 : 1;
  }
  return out;
}

/**
 * Reads the prediction range of the baseline profile a run logged, or undefined when the run
 * has none (a model registered from outside the pipeline) or it is not a profile: it only
 * feeds the shift alarm, so its absence must not keep the model from serving. A store
 * failure throws, as reading the model does, so the load is retried.
 *
 * @example
 * const range = await readPredictionRange(store, 'artifacts', run.info.artifact_uri);
 */
export async function readPredictionRange(
  store: ObjectStore,
  bucket: string,
  artifactUri: string,
): Promise<PredictionRange | undefined> {
  const root = storagePrefixOf(artifactUri, bucket);
  if (root === undefined) return undefined;
  const raw = await store.get(bucket, `${root}/${BASELINE_PROFILE_PATH}`);
  if (!raw) return undefined;
  try {
    return predictionRange(JSON.parse(Buffer.from(raw).toString('utf8')));
  } catch {
    return undefined;
  }
}
