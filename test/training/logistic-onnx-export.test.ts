import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { inspectOnnxModel } from '../../lambdas/serving/inference/inspect';
import type { ResolvedFeature } from '../../lambdas/training/design/feature-defs';
import { exportLogisticOnnx } from '../../lambdas/training/logistic/export-onnx';
import type { LogisticModel } from '../../lambdas/training/logistic/logistic-regression';
import { decodeFields } from '../../lambdas/training/onnx/protobuf';
import { createRng } from '../../lambdas/training/random';

const numeric = (name: string): ResolvedFeature => ({
  name,
  type: 'numeric',
  encoding: 'ordinal',
  categories: [],
});

function model(weights: number[], intercept: number): LogisticModel {
  return {
    kind: 'logistic',
    names: weights.map((_, j) => `x${j}`),
    weights: Float64Array.from(weights),
    intercept,
    standardizedWeights: Float64Array.from(weights),
    iterations: 0,
  };
}

/** Op types of the graph's nodes, in order, read straight from the protobuf. */
function opTypes(bytes: Uint8Array): string[] {
  const graph = decodeFields(bytes).find((f) => f.field === 7 && f.wire === 2)!.value as Uint8Array;
  return decodeFields(graph)
    .filter((f) => f.field === 1 && f.wire === 2)
    .map((node) => {
      const op = decodeFields(node.value as Uint8Array).find((f) => f.field === 4 && f.wire === 2)!;
      return new TextDecoder().decode(op.value as Uint8Array);
    });
}

async function run(bytes: Uint8Array, rows: number[][]): Promise<{ probs: Float64Array; labels: number[] }> {
  const d = rows[0]!.length;
  const session = await InferenceSession.create(bytes);
  try {
    const out = await session.run({
      features: new Tensor('float64', Float64Array.from(rows.flat()), [rows.length, d]),
    });
    return {
      probs: out.probabilities!.data as Float64Array,
      labels: Array.from(out.label!.data as BigInt64Array, Number),
    };
  } finally {
    await session.release();
  }
}

describe('the exported logistic ONNX graph', () => {
  it('is exactly Gemm → Sigmoid → Gemm → ArgMax for numeric features, with the signature outputs', async () => {
    const bytes = exportLogisticOnnx(model([0.5, -1.5, 2], 0.25), ['a', 'b', 'c'].map(numeric));
    // No encoding, scaling, Add or Cast nodes: each would cost a full pass over the batch.
    expect(opTypes(bytes)).toEqual(['Gemm', 'Sigmoid', 'Gemm', 'ArgMax']);
    const { inputs, outputs } = await inspectOnnxModel(bytes);
    expect(inputs.map((i) => [i.name, i.type, i.shape])).toEqual([['features', 'float64', ['N', 3]]]);
    expect(outputs.map((o) => [o.name, o.type, o.shape])).toEqual([
      ['probabilities', 'float64', ['N', 2]],
      ['label', 'int64', ['N']],
    ]);
  });

  it('returns [1 − p, p] with p = sigmoid(x·w + b), as scikit-learn predict_proba', async () => {
    const weights = [0.7, -1.3, 0.05, 2.2];
    const intercept = -0.4;
    const rng = createRng(11);
    const rows = Array.from({ length: 400 }, () => weights.map(() => rng.normal() * 3));
    const { probs } = await run(
      exportLogisticOnnx(
        model(weights, intercept),
        weights.map((_, j) => numeric(`x${j}`)),
      ),
      rows,
    );
    rows.forEach((x, i) => {
      const z = x.reduce((s, v, j) => s + v * weights[j]!, intercept);
      const p = 1 / (1 + Math.exp(-z));
      expect(Math.abs(probs[2 * i + 1]! - p)).toBeLessThanOrEqual(1e-12);
      // One rounding of 1 − p, so the two columns sum to 1 as predict_proba's do.
      expect(probs[2 * i]!).toBe(1 - probs[2 * i + 1]!);
    });
    const p1 = Array.from({ length: rows.length }, (_, i) => probs[2 * i + 1]!);
    expect(p1.some((p) => p < 0.05) && p1.some((p) => p > 0.95)).toBe(true);
  });

  it('labels 1 exactly when P(1) > 0.5, including scores that round to 0.5 on either side of 0', async () => {
    // z = a − b; the tiny ones give P(1) = 0.5 exactly in double, where "z > 0" and
    // "P(1) > 0.5" disagree.
    const rows = [
      [3, 3],
      [1e-300, 0],
      [0, 1e-300],
      [1e-12, 0],
      [0, 1e-12],
      [2, 0],
      [0, 2],
    ];
    const { probs, labels } = await run(
      exportLogisticOnnx(model([1, -1], 0), [numeric('a'), numeric('b')]),
      rows,
    );
    const p1 = rows.map((_, i) => probs[2 * i + 1]!);
    expect(p1.slice(0, 3)).toEqual([0.5, 0.5, 0.5]);
    expect(p1[3]).toBeGreaterThan(0.5);
    expect(p1[4]).toBeLessThan(0.5);
    expect(labels).toEqual([0, 0, 0, 1, 0, 1, 0]);
  });
});
