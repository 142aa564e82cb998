import type { ResolvedFeature } from '../features/feature-defs';
import { buildEncodingGraph } from '../onnx/encoding-graph';
import { DataType, encodeModel, tensorType } from '../onnx/model-proto';
import type { LogisticModel } from './logistic-regression';

/** Name of the single input of every built-in model: a double tensor [N, features]. */
export const MODEL_INPUT = 'features';

/**
 * Exports a logistic model as a plain ONNX graph in double precision:
 * encode → MatMul → Add → Sigmoid, with outputs `probabilities` [N, 2] (double) and
 * `label` [N] (int64, 1 when P(y=1) > 0.5). Double keeps the graph equal to the in-memory
 * model to ~1e-15; the ai.onnx.ml LinearClassifier would force float32.
 */
export function exportLogisticOnnx(model: LogisticModel, features: readonly ResolvedFeature[]): Uint8Array {
  const enc = buildEncodingGraph(features, MODEL_INPUT);
  const d = model.weights.length;
  return encodeModel({
    opsets: { '': 15 },
    metadata: { algorithm: 'logistic', features: JSON.stringify(features.map((f) => f.name)) },
    graph: {
      name: 'logistic_regression',
      inputs: [{ name: MODEL_INPUT, type: tensorType(DataType.DOUBLE, ['N', features.length]) }],
      outputs: [
        { name: 'probabilities', type: tensorType(DataType.DOUBLE, ['N', 2]) },
        { name: 'label', type: tensorType(DataType.INT64, ['N']) },
      ],
      initializers: [
        ...enc.initializers,
        // Two columns [-w, w] and [-b, b]: Sigmoid yields [P(0), P(1)] in one pass, no Sub/Concat.
        {
          name: 'W2',
          dims: [d, 2],
          dataType: DataType.DOUBLE,
          values: Float64Array.from(
            { length: 2 * d },
            (_, k) => (k % 2 === 0 ? -1 : 1) * model.weights[k >> 1]!,
          ),
        },
        { name: 'B2', dims: [2], dataType: DataType.DOUBLE, values: [-model.intercept, model.intercept] },
      ],
      nodes: [
        ...enc.nodes,
        { opType: 'MatMul', inputs: [enc.output, 'W2'], outputs: ['xw'] },
        { opType: 'Add', inputs: ['xw', 'B2'], outputs: ['logits'] },
        { opType: 'Sigmoid', inputs: ['logits'], outputs: ['probabilities'] },
        // ArgMax keeps the first index on a tie, so label is 1 exactly when P(1) > 0.5.
        {
          opType: 'ArgMax',
          inputs: ['probabilities'],
          outputs: ['label'],
          attributes: { axis: { kind: 'int', value: 1 }, keepdims: { kind: 'int', value: 0 } },
        },
      ],
    },
  });
}
