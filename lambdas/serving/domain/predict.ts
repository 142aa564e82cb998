import type { Tensor } from 'onnxruntime-node';
import type { OnlineFeaturesRequest, OnlineFeaturesResponse } from '../../features/online/retrieval';
import { InvalidParameterError } from '../../platform/errors';
import type { Column, Dataset } from '../../training/data/dataset';
import { buildFeeds, primaryOutput, primaryValues } from '../inference/score-onnx';
import { columnsToDataset } from './rows';
import type { ServedModel } from './served-model';

/** Online features for entity rows: the feature store's in-process retrieval. */
export type OnlineFeatures = (req: OnlineFeaturesRequest) => Promise<OnlineFeaturesResponse>;

/** A scored batch: every signature output as returned, and the primary value per row. */
export interface Scored {
  readonly outputs: Readonly<Record<string, Tensor>>;
  readonly predictions: Float64Array;
}

/**
 * Runs the model once on feeds for `rows` rows, fetching the signature's outputs (or the
 * named ones) plus the primary output. Rows sent together are one model call.
 *
 * @example
 * const { predictions } = await scoreFeeds(model, buildFeeds(model.signature, ds), ds.rowCount);
 */
export async function scoreFeeds(
  model: ServedModel,
  feeds: Record<string, Tensor>,
  rows: number,
  outputs: readonly string[] = model.signature.outputs.map((o) => o.name),
): Promise<Scored> {
  const primary = primaryOutput(model.signature).name;
  const fetch = outputs.includes(primary) ? outputs : [...outputs, primary];
  const result = await model.scorer.run(feeds, fetch);
  return { outputs: result, predictions: primaryValues(result[primary]!, rows) };
}

/** Scores a dataset built from rows or online features: the signature's feeds, one model call. */
export function scoreDataset(model: ServedModel, ds: Dataset): Promise<Scored> {
  return scoreFeeds(model, buildFeeds(model.signature, ds), ds.rowCount);
}

/**
 * Reads the model's features for entity rows from the online store through the feature
 * store's retrieval (`getOnlineFeatures` with the model's feature service), which also
 * computes on-demand features with the code training sets use. Join keys and request
 * columns are features too when the model takes them.
 *
 * @example
 * const ds = await datasetForEntities(model, online, { user_id: [1, 2] });
 */
export async function datasetForEntities(
  model: ServedModel,
  online: OnlineFeatures | undefined,
  entities: Readonly<Record<string, readonly unknown[]>>,
): Promise<Dataset> {
  if (!online || !model.featureService) {
    throw new InvalidParameterError(
      `Model '${model.name}' version ${model.version} names no feature service to read online features from; send the feature values as instances`,
    );
  }
  const res = await online({ feature_service: model.featureService, entities });
  const columns = new Map<string, readonly unknown[]>();
  for (const [k, v] of Object.entries(entities)) columns.set(k, v);
  res.metadata.feature_names.forEach((name, i) => {
    columns.set(name, res.results[i]?.values ?? []);
  });
  const rows = Object.values(entities)[0]?.length ?? 0;
  return columnsToDataset(model.signature, columns, rows, `feature service '${model.featureService}'`);
}

/**
 * A dataset's columns by feature, for the prediction log, which writes them as JSON itself
 * (a missing numeric value as null): no copy per request.
 */
export function columnsForLog(ds: Dataset): Record<string, Column> {
  const out: Record<string, Column> = {};
  for (const [name, c] of ds.columns) out[name] = c;
  return out;
}

/** A tensor's values as JSON numbers (int64 as numbers) or strings. */
export function tensorValues(t: Tensor): (number | string | boolean)[] {
  const data = t.data as ArrayLike<number | bigint | string | boolean>;
  return Array.from(data, (v) => (typeof v === 'bigint' ? Number(v) : v));
}

/** Per-row values of an output: a scalar for [N] or [N, 1], a list for [N, K]. */
export function rowsOf(t: Tensor, rows: number): unknown[] {
  const values = tensorValues(t);
  const width = rows > 0 ? values.length / rows : 0;
  if (width === 1) return values;
  return Array.from({ length: rows }, (_, i) => values.slice(i * width, (i + 1) * width));
}
