import { DataType, encodeModel, type NodeDef, tensorType } from '../../lambdas/training/onnx/model-proto';

/**
 * A scikit-learn-style classifier export (LinearClassifier over two float inputs); with
 * `zipmap`, followed by ZipMap as skl2onnx does by default, so its probability output is a
 * sequence of maps, which onnxruntime-node cannot return.
 */
export function classifierOnnx(zipmap: boolean): Uint8Array {
  const nodes: NodeDef[] = [
    {
      opType: 'LinearClassifier',
      domain: 'ai.onnx.ml',
      inputs: ['float_input'],
      outputs: ['label', 'probability_tensor'],
      attributes: {
        classlabels_ints: { kind: 'ints', value: [0, 1] },
        coefficients: { kind: 'floats', value: [-0.5, -1, 0.5, 1] },
        intercepts: { kind: 'floats', value: [0.1, -0.1] },
        post_transform: { kind: 'string', value: 'SOFTMAX' },
      },
    },
  ];
  if (zipmap) {
    nodes.push({
      opType: 'ZipMap',
      domain: 'ai.onnx.ml',
      inputs: ['probability_tensor'],
      outputs: ['probabilities'],
      attributes: { classlabels_int64s: { kind: 'ints', value: [0, 1] } },
    });
  }
  return encodeModel({
    opsets: { '': 15, 'ai.onnx.ml': 3 },
    graph: {
      name: 'classifier',
      inputs: [{ name: 'float_input', type: tensorType(DataType.FLOAT, [null, 2]) }],
      outputs: [
        { name: 'label', type: tensorType(DataType.INT64, [null]) },
        zipmap
          ? {
              name: 'probabilities',
              type: {
                sequenceOf: { map: { keyType: DataType.INT64, valueType: tensorType(DataType.FLOAT, []) } },
              },
            }
          : { name: 'probability_tensor', type: tensorType(DataType.FLOAT, [null, 2]) },
      ],
      nodes,
    },
  });
}
