import type { ResolvedFeature } from '../design/feature-defs';
import { buildEncodingGraph } from '../onnx/encoding-graph';
import { DataType, encodeModel, tensorType } from '../onnx/model-proto';
import type { LogisticModel } from './logistic-regression';

/** Name of the single input of every built-in model: a double tensor [N, features]. */
export const MODEL_INPUT = 'features';

/**
 * Exports a logistic model as a plain ONNX graph in double precision:
 * encode → Gemm → Sigmoid → Gemm → ArgMax, with outputs `probabilities` [N, 2] (double,
 * `[1 − p, p]` as scikit-learn's `predict_proba`) and `label` [N] (int64, 1 exactly when
 * p > 0.5). The model already holds raw-scale weights (standardization is folded in at
 * training), so the graph does no Sub/Div. Double keeps the graph equal to the in-memory
 * model to ~1e-15; the ai.onnx.ml LinearClassifier would force float32.
 *
 * Shaped for onnxruntime's CPU kernels, which dominate batch cost (measured in
 * bench/training/onnx-inference.bench.ts): Gemm carries the intercept because MatMul + Add
 * is not fused in double; Sigmoid runs on one column, not two; and `[1 − p, p]` comes from
 * a K=1 Gemm, cheaper there than Sub + Concat. Every node runs on every call, whichever
 * outputs are fetched, so the label node is the one cheap ArgMax.
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
        { name: 'weights', dims: [d, 1], dataType: DataType.DOUBLE, values: model.weights },
        { name: 'intercept', dims: [1], dataType: DataType.DOUBLE, values: [model.intercept] },
        // p · [-1, 1] + [1, 0] = [1 − p, p]: one rounding for 1 − p, p copied exactly.
        { name: 'class_sign', dims: [1, 2], dataType: DataType.DOUBLE, values: [-1, 1] },
        { name: 'class_offset', dims: [2], dataType: DataType.DOUBLE, values: [1, 0] },
      ],
      nodes: [
        ...enc.nodes,
        { opType: 'Gemm', inputs: [enc.output, 'weights', 'intercept'], outputs: ['logit'] },
        { opType: 'Sigmoid', inputs: ['logit'], outputs: ['p1'] },
        { opType: 'Gemm', inputs: ['p1', 'class_sign', 'class_offset'], outputs: ['probabilities'] },
        // 1 − p is exact for p ≥ 0.5 and rounds to ≥ 0.5 below it, and ArgMax keeps the first
        // index on a tie, so label is 1 exactly when p > 0.5.
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
