import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { type DesignMatrix, expandEncodings, toRowMajor } from '../../lambdas/training/design/design-matrix';
import type { ResolvedFeature } from '../../lambdas/training/design/feature-defs';
import { exportGbdtOnnx } from '../../lambdas/training/gbdt/export-onnx';
import { DEFAULT_GBDT_PARAMS, type GbdtTask, predictGbdt, trainGbdt } from '../../lambdas/training/gbdt/gbdt';
import { exportLogisticOnnx } from '../../lambdas/training/logistic/export-onnx';
import {
  DEFAULT_LOGISTIC_PARAMS,
  predictLogistic,
  trainLogistic,
} from '../../lambdas/training/logistic/logistic-regression';
import { createRng } from '../../lambdas/training/random';

const features: ResolvedFeature[] = [
  { name: 'a', type: 'numeric', encoding: 'ordinal', categories: [] },
  { name: 'b', type: 'numeric', encoding: 'ordinal', categories: [] },
  { name: 'color', type: 'categorical', encoding: 'onehot', categories: ['red', 'green', 'blue'] },
  { name: 'size', type: 'categorical', encoding: 'ordinal', categories: ['s', 'm', 'l', 'xl'] },
];

/** Raw inputs with a non-linear, category-dependent target so trees and weights are all non-trivial. */
function makeData(n: number, seed: number, task: GbdtTask): { raw: DesignMatrix; y: Float64Array } {
  const rng = createRng(seed);
  const cols = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng.normal() * 4 + 10;
    const b = rng.normal();
    // Test rows include an unseen category (-1), which one-hot encodes as all zeros.
    const color = rng.int(4) - 1;
    const size = rng.int(4);
    cols[0]![i] = a;
    cols[1]![i] = b;
    cols[2]![i] = color;
    cols[3]![i] = size;
    const z = 0.4 * (a - 10) + 1.5 * b * b - 1 + (color === 1 ? 1.2 : -0.4) + 0.3 * size;
    y[i] = task === 'binary' ? (rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0) : 3 * z + rng.normal();
  }
  return { raw: { names: features.map((f) => f.name), columns: cols, rows: n }, y };
}

async function runOnnx(
  bytes: Uint8Array,
  raw: DesignMatrix,
  output: string,
): Promise<{ data: ArrayLike<number>; dims: readonly number[] }> {
  const session = await InferenceSession.create(bytes);
  const out = await session.run({
    features: new Tensor('float64', toRowMajor(raw), [raw.rows, raw.columns.length]),
  });
  await session.release();
  const t = out[output]!;
  return { data: t.data as ArrayLike<number>, dims: t.dims };
}

function maxAbsDiff(onnx: ArrayLike<number>, width: number, col: number, mem: Float64Array): number {
  let d = 0;
  for (let i = 0; i < mem.length; i++) d = Math.max(d, Math.abs(Number(onnx[i * width + col]) - mem[i]!));
  return d;
}

describe('exported ONNX models predict what the in-memory models predict', () => {
  it('logistic regression with one-hot and ordinal categories matches to 1e-6 on every test row', async () => {
    const train = makeData(2000, 1, 'binary');
    const test = makeData(500, 2, 'binary');
    const model = trainLogistic(expandEncodings(train.raw, features), train.y, DEFAULT_LOGISTIC_PARAMS);
    const mem = predictLogistic(model, expandEncodings(test.raw, features));
    const { data, dims } = await runOnnx(exportLogisticOnnx(model, features), test.raw, 'probabilities');
    expect(dims).toEqual([500, 2]);
    expect(maxAbsDiff(data, 2, 1, mem)).toBeLessThanOrEqual(1e-6);
    expect(
      maxAbsDiff(
        data,
        2,
        0,
        mem.map((p) => 1 - p),
      ),
    ).toBeLessThanOrEqual(1e-6);
    // The one-hot weights differ per category, so a wrong in-graph encoding would show above.
    expect(new Set(Array.from(model.weights.slice(2, 5), (w) => w.toFixed(3))).size).toBe(3);
  });

  it('the logistic label output is 1 exactly when P(y=1) > 0.5', async () => {
    const train = makeData(1000, 3, 'binary');
    const test = makeData(300, 4, 'binary');
    const model = trainLogistic(expandEncodings(train.raw, features), train.y, DEFAULT_LOGISTIC_PARAMS);
    const mem = predictLogistic(model, expandEncodings(test.raw, features));
    const { data } = await runOnnx(exportLogisticOnnx(model, features), test.raw, 'label');
    const labels = Array.from(data as unknown as BigInt64Array, Number);
    expect(labels).toEqual(Array.from(mem, (p) => (p > 0.5 ? 1 : 0)));
    expect(new Set(labels).size).toBe(2);
  });

  it.each(['binary', 'regression'] as const)(
    'gradient-boosted trees (%s) match to 1e-6 on every test row',
    async (task) => {
      const train = makeData(3000, 5, task);
      const test = makeData(600, 6, task);
      const model = trainGbdt(expandEncodings(train.raw, features), train.y, task, {
        ...DEFAULT_GBDT_PARAMS,
        maxIterations: 40,
      });
      expect(model.trees.length).toBe(40);
      const mem = predictGbdt(model, expandEncodings(test.raw, features));
      const output = task === 'binary' ? 'probabilities' : 'prediction';
      const { data, dims } = await runOnnx(exportGbdtOnnx(model, features), test.raw, output);
      const width = task === 'binary' ? 2 : 1;
      expect(dims).toEqual([600, width]);
      expect(maxAbsDiff(data, width, width - 1, mem)).toBeLessThanOrEqual(1e-6);
      // Predictions spread out: a model that ignored its trees would be constant.
      expect(new Set(Array.from(mem, (v) => v.toFixed(4))).size).toBeGreaterThan(50);
    },
  );

  it('a tree ensemble whose trees cannot split (single leaves) still exports and matches', async () => {
    const train = makeData(30, 7, 'regression');
    const model = trainGbdt(expandEncodings(train.raw, features), train.y, 'regression', {
      ...DEFAULT_GBDT_PARAMS,
      maxIterations: 3,
      minSamplesLeaf: 20,
    });
    expect(model.trees.every((t) => t.feature.length === 1)).toBe(true);
    const mem = predictGbdt(model, expandEncodings(train.raw, features));
    const { data } = await runOnnx(exportGbdtOnnx(model, features), train.raw, 'prediction');
    expect(maxAbsDiff(data, 1, 0, mem)).toBeLessThanOrEqual(1e-6);
  });
});
