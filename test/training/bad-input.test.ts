import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { prepareTraining, type TrainRequest } from '../../lambdas/training/trial/prepare';

const n = 40;
const base = () =>
  datasetOf({
    x: Float64Array.from({ length: n }, (_, i) => i),
    color: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'red' : 'blue')),
    y: Float64Array.from({ length: n }, (_, i) => i % 2),
  });

function rejects(req: Partial<TrainRequest>, pattern: RegExp): void {
  const run = () => prepareTraining({ dataset: base(), label: 'y', algorithm: 'logistic', ...req });
  expect(run).toThrow(InvalidParameterError);
  expect(run).toThrow(pattern);
}

describe('bad training input is rejected before any work, naming the culprit', () => {
  it('a missing label column', () =>
    rejects(
      { label: 'churned' },
      /Label column 'churned' is not in the training set \(columns: x, color, y\)/,
    ));

  it('a constant label', () => {
    const dataset = datasetOf({ x: new Float64Array(n), y: new Float64Array(n).fill(1) });
    rejects({ dataset }, /Label column 'y' is constant/);
  });

  it("a missing value in a feature declared missing: 'reject'", () => {
    const x = Float64Array.from({ length: n }, (_, i) => (i === 17 ? Number.NaN : i));
    rejects(
      {
        dataset: datasetOf({ x, y: Float64Array.from({ length: n }, (_, i) => i % 2) }),
        features: [{ name: 'x', type: 'numeric', missing: 'reject' }],
      },
      /Feature 'x' has a missing value at row 18 and missing: 'reject'/,
    );
  });

  it('an infinite feature value, whatever the missing-value policy', () => {
    const x = Float64Array.from({ length: n }, (_, i) => (i === 5 ? Number.POSITIVE_INFINITY : i));
    rejects(
      { dataset: datasetOf({ x, y: Float64Array.from({ length: n }, (_, i) => i % 2) }) },
      /Feature 'x' has a non-finite value \(Infinity\) at row 6/,
    );
  });

  it('a numeric fill asked of a categorical feature', () =>
    rejects(
      { features: [{ name: 'color', type: 'categorical', missing: 'median' }] },
      /Feature 'color' is categorical: missing: 'median' applies to numeric features/,
    ));

  it('a feature missing on every training row', () => {
    // Time-ordered split: the last 20% are the test rows; x is known only there.
    const x = Float64Array.from({ length: n }, (_, i) => (i < 32 ? Number.NaN : i));
    rejects(
      {
        dataset: datasetOf({
          x,
          t: Float64Array.from({ length: n }, (_, i) => i),
          y: Float64Array.from({ length: n }, (_, i) => i % 2),
        }),
        timeColumn: 't',
      },
      /Feature 'x' is missing on every training row/,
    );
  });

  it('an unknown algorithm option, listing the known ones', () =>
    rejects(
      { options: { learning_rate: 0.1 } },
      /Unknown logistic option 'learning_rate'; known options: C,/,
    ));

  it('an out-of-range option', () =>
    rejects({ algorithm: 'gbdt', options: { maxLeafNodes: '1' } }, /maxLeafNodes/));

  it('an unknown algorithm', () =>
    rejects({ algorithm: 'svm' }, /Unknown algorithm 'svm'; use one of: logistic, gbdt/));

  it('a split column with values other than train/test', () => {
    const ds = base();
    const split = Array.from({ length: n }, (_, i) =>
      i === 5 ? 'validate' : i % 4 === 0 ? 'test' : 'train',
    );
    rejects(
      { dataset: datasetOf({ ...Object.fromEntries(ds.columns), split }), splitColumn: 'split' },
      /'validate' at row 6/,
    );
  });

  it('a search space naming a parameter the algorithm lacks', () =>
    rejects(
      { tune: { strategy: 'random', maxTrials: 3, space: { depth: { values: [1, 2] } } } },
      /'depth', not parameters of logistic/,
    ));

  it('a promotion rule on a metric of the other task', () =>
    rejects({ promotionRule: { metric: 'rmse', guards: [] } }, /'rmse' is not a binary metric/));

  it('regression labels with the logistic algorithm', () => {
    const dataset = datasetOf({
      x: Float64Array.from({ length: n }, (_, i) => i),
      y: Float64Array.from({ length: n }, (_, i) => i * 1.5),
    });
    rejects({ dataset }, /use --algorithm gbdt for regression/);
  });

  it('accepts the same data when it is valid (the checks are not over-eager)', () => {
    const prep = prepareTraining({ dataset: base(), label: 'y', algorithm: 'logistic' });
    expect(prep.features.map((f) => [f.name, f.type, f.encoding])).toEqual([
      ['x', 'numeric', 'ordinal'],
      ['color', 'categorical', 'onehot'],
    ]);
    expect(prep.train.X.names).toEqual(['x', 'color=blue', 'color=red']);
    expect(prep.test.X.rows).toBe(8);
  });
});
