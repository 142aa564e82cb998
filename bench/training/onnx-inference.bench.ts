import { InferenceSession, Tensor } from 'onnxruntime-node';
import { toRowMajor } from '../../lambdas/training/design/design-matrix';
import type { ResolvedFeature } from '../../lambdas/training/design/feature-defs';
import { exportGbdtOnnx } from '../../lambdas/training/gbdt/export-onnx';
import { DEFAULT_GBDT_PARAMS, trainGbdt } from '../../lambdas/training/gbdt/gbdt';
import { exportLogisticOnnx } from '../../lambdas/training/logistic/export-onnx';
import { DEFAULT_LOGISTIC_PARAMS, trainLogistic } from '../../lambdas/training/logistic/logistic-regression';
import { DataType, encodeModel, tensorType } from '../../lambdas/training/onnx/model-proto';
import type { BenchMeasurement, Benchmark } from '../harness';
import { syntheticBinary } from './synthetic';

interface RaceEntry {
  readonly bytes: Uint8Array;
  readonly input: Tensor;
  /** The outputs fetched; onnxruntime runs every node anyway, this decides what is copied out. */
  readonly outputs: readonly string[];
}

/**
 * Rows/s of models on the same input, runs interleaved round-robin and the
 * median run time of each taken, so machine noise hits all alike. Each round starts with the
 * next model, so none always runs first (cold caches) or right after a particular one.
 */
async function race(entries: readonly RaceEntry[], rows: number, repeats: number): Promise<number[]> {
  // One intra-op thread per session: each session owns a thread pool whose threads spin
  // after a run, and on 2 cores the previous session's spinning would slow whichever
  // model runs next. Single-threaded runs compare the graphs, not the pools.
  const sessions = await Promise.all(
    entries.map((e) => InferenceSession.create(e.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 })),
  );
  const times: number[][] = entries.map(() => []);
  for (let r = -1; r < repeats; r++) {
    for (let j = 0; j < entries.length; j++) {
      const k = (j + r + 1) % entries.length;
      const t0 = performance.now();
      await sessions[k]!.run({ features: entries[k]!.input }, [...entries[k]!.outputs]);
      if (r >= 0) times[k]!.push(performance.now() - t0);
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
  return times.map((t) => rows / (median(t) / 1000));
}

/**
 * Batch inference of our exported models against hand-built ONNX graphs of the same
 * function, in the same process on the same batch (100,000 rows × 20; 20,000 with --quick):
 * - logistic: ours vs the leanest hand-built double graph we know that returns the same
 *   outputs (`probabilities` [N, 2] and `label` [N]), both fetched on both sides: Gemm with
 *   the intercept → Sigmoid on one column → `[1 − p, p]` by a K=1 Gemm → ArgMax. Reported
 *   alongside (extra): a bare MatMul → Add → Sigmoid graph returning P(1) [N, 1] only, the
 *   cost floor of a different, smaller function;
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

  // Written out by hand, not via our exporter, so a regression in the exporter shows.
  const handLogistic = encodeModel({
    opsets: { '': 15 },
    graph: {
      name: 'hand_logistic',
      inputs: [{ name: 'features', type: tensorType(DataType.DOUBLE, ['N', nf]) }],
      outputs: [
        { name: 'probabilities', type: tensorType(DataType.DOUBLE, ['N', 2]) },
        { name: 'label', type: tensorType(DataType.INT64, ['N']) },
      ],
      initializers: [
        { name: 'W', dims: [nf, 1], dataType: DataType.DOUBLE, values: logistic.weights },
        { name: 'B', dims: [1], dataType: DataType.DOUBLE, values: [logistic.intercept] },
        { name: 'S', dims: [1, 2], dataType: DataType.DOUBLE, values: [-1, 1] },
        { name: 'O', dims: [2], dataType: DataType.DOUBLE, values: [1, 0] },
      ],
      nodes: [
        { opType: 'Gemm', inputs: ['features', 'W', 'B'], outputs: ['z'] },
        { opType: 'Sigmoid', inputs: ['z'], outputs: ['p'] },
        { opType: 'Gemm', inputs: ['p', 'S', 'O'], outputs: ['probabilities'] },
        {
          opType: 'ArgMax',
          inputs: ['probabilities'],
          outputs: ['label'],
          attributes: { axis: { kind: 'int', value: 1 }, keepdims: { kind: 'int', value: 0 } },
        },
      ],
    },
  });
  const bareLogistic = encodeModel({
    opsets: { '': 15 },
    graph: {
      name: 'bare_logistic_p1',
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
  const fullOutputs = ['probabilities', 'label'];
  const [logOurs, logBase, logBare] = await race(
    [
      { bytes: exportLogisticOnnx(logistic, features), input, outputs: fullOutputs },
      { bytes: handLogistic, input, outputs: fullOutputs },
      { bytes: bareLogistic, input, outputs: ['p'] },
    ],
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
  const [treesOurs, treesBase] = await race(
    [
      { bytes: exportGbdtOnnx(gbdt, features), input, outputs: ['probabilities'] },
      { bytes: handTrees, input: input32, outputs: ['p'] },
    ],
    batch,
    repeats,
  );
  return [
    {
      id: 'training.onnx.logistic.rows_per_s',
      ours: logOurs!,
      baseline: logBase!,
      unit: 'rows/s',
      goal: { ratioAtLeast: 0.8 },
      extra: {
        batch,
        features: nf,
        outputs: fullOutputs.join('+'),
        bare_p1_rows_per_s: Math.round(logBare!),
        ours_vs_bare_p1: Number((logOurs! / logBare!).toFixed(3)),
      },
    },
    {
      id: 'training.onnx.gbdt.rows_per_s',
      ours: treesOurs!,
      baseline: treesBase!,
      unit: 'rows/s',
      goal: { ratioAtLeast: 0.8 },
      extra: { batch, features: nf, trees: gbdt.trees.length },
    },
  ];
}) satisfies Benchmark;
