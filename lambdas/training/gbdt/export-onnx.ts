import type { ResolvedFeature } from '../design/feature-defs';
import { MODEL_INPUT } from '../logistic/export-onnx';
import { buildEncodingGraph } from '../onnx/encoding-graph';
import { DataType, encodeModel, type NodeDef, tensorType } from '../onnx/model-proto';
import type { GbdtModel } from './gbdt';

/**
 * Exports boosted trees as the ai.onnx.ml (opset 5) TreeEnsemble operator in double: the
 * same BRANCH_LEQ comparisons and a double sum of leaves as the in-memory model, then the
 * base score is added. Binary models add Sigmoid and output `probabilities` [N, 2] and
 * `label` [N]; regression models output `prediction` [N, 1]. All outputs are plain tensors.
 */
export function exportGbdtOnnx(model: GbdtModel, features: readonly ResolvedFeature[]): Uint8Array {
  const enc = buildEncodingGraph(features, MODEL_INPUT);
  const roots: number[] = [];
  const featureIds: number[] = [];
  const splits: number[] = [];
  const trueIds: number[] = [];
  const trueLeafs: number[] = [];
  const falseIds: number[] = [];
  const falseLeafs: number[] = [];
  const leafWeights: number[] = [];
  for (const t of model.trees) {
    // Interior nodes and leaves live in separate arrays in opset 5; renumber both.
    const interior = new Map<number, number>();
    const leaf = new Map<number, number>();
    for (let k = 0; k < t.feature.length; k++) {
      if (t.feature[k]! >= 0) interior.set(k, featureIds.length + interior.size);
    }
    for (let k = 0; k < t.feature.length; k++) {
      if (t.feature[k]! < 0) {
        leaf.set(k, leafWeights.length);
        leafWeights.push(t.value[k]!);
      }
    }
    roots.push(featureIds.length);
    if (interior.size === 0) {
      // A single-leaf tree: a split whose both branches reach the leaf.
      featureIds.push(0);
      splits.push(0);
      trueIds.push(leaf.get(0)!);
      trueLeafs.push(1);
      falseIds.push(leaf.get(0)!);
      falseLeafs.push(1);
      continue;
    }
    for (let k = 0; k < t.feature.length; k++) {
      if (t.feature[k]! < 0) continue;
      featureIds.push(t.feature[k]!);
      splits.push(t.threshold[k]!);
      const l = t.left[k]!;
      const r = t.right[k]!;
      const lLeaf = t.feature[l]! < 0;
      const rLeaf = t.feature[r]! < 0;
      trueIds.push(lLeaf ? leaf.get(l)! : interior.get(l)!);
      trueLeafs.push(lLeaf ? 1 : 0);
      falseIds.push(rLeaf ? leaf.get(r)! : interior.get(r)!);
      falseLeafs.push(rLeaf ? 1 : 0);
    }
  }
  const nodes: NodeDef[] = [
    ...enc.nodes,
    {
      opType: 'TreeEnsemble',
      domain: 'ai.onnx.ml',
      inputs: [enc.output],
      outputs: ['tree_sum'],
      attributes: {
        n_targets: { kind: 'int', value: 1 },
        aggregate_function: { kind: 'int', value: 1 },
        post_transform: { kind: 'int', value: 0 },
        tree_roots: { kind: 'ints', value: roots },
        nodes_featureids: { kind: 'ints', value: featureIds },
        nodes_modes: {
          kind: 'tensor',
          value: { dims: [featureIds.length], dataType: DataType.UINT8, values: featureIds.map(() => 0) },
        },
        nodes_splits: {
          kind: 'tensor',
          value: { dims: [splits.length], dataType: DataType.DOUBLE, values: splits },
        },
        nodes_truenodeids: { kind: 'ints', value: trueIds },
        nodes_trueleafs: { kind: 'ints', value: trueLeafs },
        nodes_falsenodeids: { kind: 'ints', value: falseIds },
        nodes_falseleafs: { kind: 'ints', value: falseLeafs },
        leaf_targetids: { kind: 'ints', value: leafWeights.map(() => 0) },
        leaf_weights: {
          kind: 'tensor',
          value: { dims: [leafWeights.length], dataType: DataType.DOUBLE, values: leafWeights },
        },
      },
    },
    {
      opType: 'Add',
      inputs: ['tree_sum', 'base'],
      outputs: [model.task === 'regression' ? 'prediction' : 'score'],
    },
  ];
  const initializers = [
    ...enc.initializers,
    { name: 'base', dims: [1], dataType: DataType.DOUBLE, values: [model.baseScore] },
  ];
  const outputs =
    model.task === 'regression'
      ? [{ name: 'prediction', type: tensorType(DataType.DOUBLE, ['N', 1]) }]
      : [
          { name: 'probabilities', type: tensorType(DataType.DOUBLE, ['N', 2]) },
          { name: 'label', type: tensorType(DataType.INT64, ['N']) },
        ];
  if (model.task === 'binary') {
    initializers.push(
      { name: 'one', dims: [1], dataType: DataType.DOUBLE, values: [1] },
      { name: 'half', dims: [1], dataType: DataType.DOUBLE, values: [0.5] },
      { name: 'flat', dims: [1], dataType: DataType.INT64, values: [-1] },
    );
    nodes.push(
      { opType: 'Sigmoid', inputs: ['score'], outputs: ['p1'] },
      { opType: 'Sub', inputs: ['one', 'p1'], outputs: ['p0'] },
      {
        opType: 'Concat',
        inputs: ['p0', 'p1'],
        outputs: ['probabilities'],
        attributes: { axis: { kind: 'int', value: 1 } },
      },
      { opType: 'Greater', inputs: ['p1', 'half'], outputs: ['is_pos'] },
      {
        opType: 'Cast',
        inputs: ['is_pos'],
        outputs: ['label_col'],
        attributes: { to: { kind: 'int', value: DataType.INT64 } },
      },
      { opType: 'Reshape', inputs: ['label_col', 'flat'], outputs: ['label'] },
    );
  }
  return encodeModel({
    opsets: { '': 21, 'ai.onnx.ml': 5 },
    irVersion: 10,
    metadata: { algorithm: 'gbdt', task: model.task, features: JSON.stringify(features.map((f) => f.name)) },
    graph: {
      name: 'gradient_boosted_trees',
      inputs: [{ name: MODEL_INPUT, type: tensorType(DataType.DOUBLE, ['N', features.length]) }],
      outputs,
      initializers,
      nodes,
    },
  });
}
