import { type Dataset, isNumericColumn } from '../../training/data/dataset';
import { readTable } from '../../training/data/read-table';
import { type PreparedTraining, prepareTraining } from '../../training/trial/prepare';
import type { PipelineInput, TrainingSetRef } from '../contract';
import { localFile, type PipelineDeps } from '../deps';

const prepared = new Map<string, Promise<{ dataset: Dataset }>>();

/** Reads a training set once per function instance (parallel trials share it). */
export function readTrainingSet(deps: PipelineDeps, ref: TrainingSetRef): Promise<{ dataset: Dataset }> {
  let p = prepared.get(ref.key + ref.digest);
  if (!p) {
    p = (async () => ({ dataset: await readTable(await localFile(deps, ref.key)) }))();
    prepared.set(ref.key + ref.digest, p);
    p.catch(() => prepared.delete(ref.key + ref.digest));
  }
  return p;
}

/**
 * The training request for a pipeline input: the feature service's columns are the
 * features (never the entity keys), split by the entity rows' time, and the options given.
 */
export function prepareFromInput(
  dataset: Dataset,
  input: PipelineInput,
  ref: TrainingSetRef,
  options: Readonly<Record<string, string | number | boolean>> = input.training.options,
): PreparedTraining {
  return prepareTraining({
    dataset,
    label: input.label,
    algorithm: input.training.algorithm,
    options,
    timeColumn: input.timestampColumn,
    features: ref.featureColumns.map((name) => {
      const col = dataset.columns.get(name);
      const { missing } = input.training;
      return col && isNumericColumn(col)
        ? { name, type: 'numeric', missing }
        : { name, type: 'categorical', ...(missing === 'reject' ? { missing } : {}) };
    }),
    promotionRule: input.training.promotionRule,
  });
}
