import { InferenceSession, Tensor } from 'onnxruntime-node';
import { toRowMajor } from '../../lambdas/training/features/design-matrix';
import type { ResolvedFeature } from '../../lambdas/training/features/feature-defs';
import { exportGbdtOnnx } from '../../lambdas/training/gbdt/export-onnx';
import { DEFAULT_GBDT_PARAMS, trainGbdt } from '../../lambdas/training/gbdt/gbdt';
import { exportLogisticOnnx } from '../../lambdas/training/logistic/export-onnx';
import { DEFAULT_LOGISTIC_PARAMS, trainLogistic } from '../../lambdas/training/logistic/logistic-regression';
import { DataType, encodeModel, tensorType } from '../../lambdas/training/onnx/model-proto';
import type { BenchMeasurement, Benchmark } from '../harness';
import { syntheticBinary } from './synthetic';

/**
 * Rows/s of two models on the same input, runs interleaved (ours, baseline, ours, ...) and
 * the median run time of each taken, so machine noise hits both alike.
 */
async function racePair(
  ours: { bytes: Uint8Array; input: Tensor; output: string },
  base: { bytes: Uint8Array; input: Tensor; output: string },
  rows: number,
  repeats: number,
): Promise<{ ours: number; baseline: number }> {
  const sessions = await Promise.all([
    InferenceSession.create(ours.bytes),
    InferenceSession.create(base.bytes),
  ]);
  const specs = [ours, base];
  const times: number[][] = [[], []];
  for (let r = -1; r < repeats; r++) {
    for (let k = 0; k < 2; k++) {
      const t0 = performance.now();
      await sessions[k]!.run({ features: specs[k]!.input }, [specs[k]!.output]);
      if (r >= 0) times[k]!.push(performance.now() - t0);
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
  return { ours: rows / (median(times[0]!) / 1000), baseline: rows / (median(times[1]!) / 1000) };
}

/**
 * Batch inference of our exported models against hand-built ONNX graphs of the same
 * function, in the same process on the same batch (100,000 rows × 20; 20,000 with --quick):
 * - logistic: ours (MatMul, Add, Sigmoid, plus the probability/label outputs) vs a bare
 *   MatMul → Add → Sigmoid graph with the same weights;
 * - gbdt: ours (ai.onnx.ml opset-5 TreeEnsemble in double) vs the classic opset-3
 *   TreeEnsembleRegressor (float) + Sigmoid over the same trees.
 * Goal: ours keeps at least 80% of the baseline's rows/s.
 */
export default (async (ctx): Promise<BenchMeasurement[]> => {
  const trainRows = ctx.quick ? 20_000 : 100_000;
  const batch = ctx.quick ? 20_000 : 100_000;
  const repeats = ctx.quick ? 9 : 41;
  const nf = 20;
  const { X, y } = syntheticBinary(trainRows, nf, 2);
  const features: ResolvedFeature[] = X.names.map((name) => ({
    name,
    type: 'numeric',
    encoding: 'ordinal',
    categories: [],
  }));
  const test = syntheticBinary(batch, nf, 3).X;
  const input = new Tensor('float64', toRowMajor(test), [batch, nf]);
  const input32 = new Tensor('float32', Float32Array.from(input.data as Float64Array), [batch, nf]);

  ctx.progress('training models for inference');
  const logistic = trainLogistic(X, y, DEFAULT_LOGISTIC_PARAMS);
  const gbdt = trainGbdt(X, y, 'binary', DEFAULT_GBDT_PARAMS);

  const handLogistic = encodeModel({
    opsets: { '': 15 },
    graph: {
      name: 'hand_logistic',
      inputs: [{ name: 'features', type: tensorType(DataType.DOUBLE, ['N', nf]) }],
      outputs: [{ name: 'p', type: tensorType(DataType.DOUBLE, ['N', 1]) }],
      initializers: [
        { name: 'W', dims: [nf, 1], dataType: DataType.DOUBLE, values: logistic.weights },
        { name: 'B', dims: [1], dataType: DataType.DOUBLE, values: [logistic.intercept] },
      ],
      nodes: [
        { opType: 'MatMul', inputs: ['features', 'W'], outputs: ['xw'] },
        { opType: 'Add', inputs: ['xw', 'B'], outputs: ['z'] },
        { opType: 'Sigmoid', inputs: ['z'], outputs: ['p'] },
      ],
    },
  });
  ctx.progress('logistic inference');
  const log = await racePair(
    { bytes: exportLogisticOnnx(logistic, features), input, output: 'probabilities' },
    { bytes: handLogistic, input, output: 'p' },
    batch,
    repeats,
  );

  const nodes = {
    tree: [] as number[],
    node: [] as number[],
    feat: [] as number[],
    mode: [] as string[],
    val: [] as number[],
    t: [] as number[],
    f: [] as number[],
  };
  const leaves = { tree: [] as number[], node: [] as number[], w: [] as number[] };
  gbdt.trees.forEach((tr, ti) => {
    for (let k = 0; k < tr.feature.length; k++) {
      const leaf = tr.feature[k]! < 0;
      nodes.tree.push(ti);
      nodes.node.push(k);
      nodes.feat.push(leaf ? 0 : tr.feature[k]!);
      nodes.mode.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      nodes.val.push(leaf ? 0 : tr.threshold[k]!);
      nodes.t.push(leaf ? 0 : tr.left[k]!);
      nodes.f.push(leaf ? 0 : tr.right[k]!);
      if (leaf) {
        leaves.tree.push(ti);
        leaves.node.push(k);
        leaves.w.push(tr.value[k]!);
      }
    }
  });
  const handTrees = encodeModel({
    opsets: { '': 15, 'ai.onnx.ml': 3 },
    graph: {
      name: 'hand_trees',
      inputs: [{ name: 'features', type: tensorType(DataType.FLOAT, ['N', nf]) }],
      outputs: [{ name: 'p', type: tensorType(DataType.FLOAT, ['N', 1]) }],
      nodes: [
        {
          opType: 'TreeEnsembleRegressor',
          domain: 'ai.onnx.ml',
          inputs: ['features'],
          outputs: ['score'],
          attributes: {
            n_targets: { kind: 'int', value: 1 },
            aggregate_function: { kind: 'string', value: 'SUM' },
            base_values: { kind: 'floats', value: [gbdt.baseScore] },
            nodes_treeids: { kind: 'ints', value: nodes.tree },
            nodes_nodeids: { kind: 'ints', value: nodes.node },
            nodes_featureids: { kind: 'ints', value: nodes.feat },
            nodes_modes: { kind: 'strings', value: nodes.mode },
            nodes_values: { kind: 'floats', value: nodes.val },
            nodes_truenodeids: { kind: 'ints', value: nodes.t },
            nodes_falsenodeids: { kind: 'ints', value: nodes.f },
            target_treeids: { kind: 'ints', value: leaves.tree },
            target_nodeids: { kind: 'ints', value: leaves.node },
            target_ids: { kind: 'ints', value: leaves.tree.map(() => 0) },
            target_weights: { kind: 'floats', value: leaves.w },
          },
        },
        { opType: 'Sigmoid', inputs: ['score'], outputs: ['p'] },
      ],
    },
  });
  ctx.progress('gbdt inference');
  const trees = await racePair(
    { bytes: exportGbdtOnnx(gbdt, features), input, output: 'probabilities' },
    { bytes: handTrees, input: input32, output: 'p' },
    batch,
    repeats,
  );
  return [
    {
      id: 'training.onnx.logistic.rows_per_s',
      ours: log.ours,
      baseline: log.baseline,
      unit: 'rows/s',
      goal: { ratioAtLeast: 0.8 },
      extra: { batch, features: nf },
    },
    {
      id: 'training.onnx.gbdt.rows_per_s',
      ours: trees.ours,
      baseline: trees.baseline,
      unit: 'rows/s',
      goal: { ratioAtLeast: 0.8 },
      extra: { batch, features: nf, trees: gbdt.trees.length },
    },
  ];
}) satisfies Benchmark;
