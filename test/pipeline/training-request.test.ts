import { describe, expect, it } from 'vitest';
import { PipelineInputSchema, type TrainingSetRef } from '../../lambdas/pipeline/contract';
import { prepareFromInput } from '../../lambdas/pipeline/steps/training-request';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import { datasetOf } from '../../lambdas/training/data/dataset';

// 40 rows in time order; spend is empty where no purchase was known within the TTL.
const n = 40;
const dataset = datasetOf({
  event_timestamp: Float64Array.from({ length: n }, (_, i) => i),
  spend: Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? Number.NaN : i)),
  plan: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : i % 2 ? 'pro' : 'basic')),
  label: Float64Array.from({ length: n }, (_, i) => i % 2),
});
const ref: TrainingSetRef = {
  key: 'training-sets/x/training-set.parquet',
  digest: 'sha256:x',
  rows: n,
  columns: ['event_timestamp', 'spend', 'plan', 'label'],
  featureColumns: ['spend', 'plan'],
};
const inputWith = (training: Record<string, unknown>) =>
  PipelineInputSchema.parse({
    featureService: 'propensity',
    entityRows: 'labels/rows.csv',
    label: 'label',
    modelName: 'm',
    training,
  });

describe("the pipeline's missing-value policy", () => {
  it('fills numeric gaps with the training mean by default and the median when asked', () => {
    const mean = prepareFromInput(dataset, inputWith({}), ref);
    const trainSpend = Array.from(
      mean.split.train,
      (r) => (dataset.columns.get('spend') as Float64Array)[r]!,
    ).filter((x) => !Number.isNaN(x));
    expect(mean.features[0]?.fill).toBeCloseTo(trainSpend.reduce((a, b) => a + b, 0) / trainSpend.length, 12);
    const median = prepareFromInput(dataset, inputWith({ missing: 'median' }), ref);
    expect(median.features[0]?.missing).toBe('median');
    expect(median.features[0]?.fill).not.toBe(mean.features[0]?.fill);
  });

  it("fails the training step on a gap with missing: 'reject', numeric or categorical", () => {
    expect(() => prepareFromInput(dataset, inputWith({ missing: 'reject' }), ref)).toThrow(
      InvalidParameterError,
    );
    expect(() => prepareFromInput(dataset, inputWith({ missing: 'reject' }), ref)).toThrow(
      /Feature 'spend' has a missing value at row 1 and missing: 'reject'/,
    );
    const categoricalOnly = { ...ref, featureColumns: ['plan'] };
    expect(() => prepareFromInput(dataset, inputWith({ missing: 'reject' }), categoricalOnly)).toThrow(
      /Feature 'plan' has a missing value at row 1 and missing: 'reject'/,
    );
  });

  it('refuses an unknown policy in the pipeline input, naming the field', () => {
    expect(() => inputWith({ missing: 'average' })).toThrow(/missing/);
  });
});
