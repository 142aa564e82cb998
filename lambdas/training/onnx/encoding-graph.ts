import type { ResolvedFeature } from '../design/feature-defs';
import { DataType, type NodeDef, type TensorDef } from './model-proto';

/** Nodes that turn the raw double input [N, features] into the expanded design [N, columns]. */
export interface EncodingGraph {
  readonly nodes: NodeDef[];
  readonly initializers: TensorDef[];
  /** Name of the double tensor holding the expanded columns. */
  readonly output: string;
}

/**
 * Builds the in-graph version of `rawInputs`' fills and `expandEncodings`: where numeric
 * features have fills, NaN inputs become them (IsNaN → Where, with NaN kept for features
 * without one); runs of pass-through features are gathered together, each one-hot feature
 * becomes Gather → Equal(codes) → Cast(double), and everything is concatenated in definition
 * order. With no fill and no one-hot feature the input is used as is, so the common
 * all-numeric case costs nothing.
 */
export function buildEncodingGraph(features: readonly ResolvedFeature[], raw: string): EncodingGraph {
  const nodes: NodeDef[] = [];
  const initializers: TensorDef[] = [];
  let input = raw;
  const fills = features.map((f) => (f.type === 'numeric' && f.fill !== undefined ? f.fill : Number.NaN));
  if (fills.some((x) => !Number.isNaN(x))) {
    initializers.push({
      name: 'fill_values',
      dims: [1, features.length],
      dataType: DataType.DOUBLE,
      values: fills,
    });
    nodes.push({ opType: 'IsNaN', inputs: [input], outputs: ['fill_missing'] });
    nodes.push({ opType: 'Where', inputs: ['fill_missing', 'fill_values', input], outputs: ['filled'] });
    input = 'filled';
  }
  if (!features.some((f) => f.type === 'categorical' && f.encoding === 'onehot')) {
    return { nodes, initializers, output: input };
  }
  const parts: string[] = [];
  let run: number[] = [];
  const flushRun = (): void => {
    if (run.length === 0) return;
    const name = `enc_pass_${parts.length}`;
    initializers.push({ name: `${name}_idx`, dims: [run.length], dataType: DataType.INT64, values: run });
    nodes.push({
      opType: 'Gather',
      inputs: [input, `${name}_idx`],
      outputs: [name],
      attributes: { axis: { kind: 'int', value: 1 } },
    });
    parts.push(name);
    run = [];
  };
  features.forEach((f, j) => {
    if (!(f.type === 'categorical' && f.encoding === 'onehot')) {
      run.push(j);
      return;
    }
    flushRun();
    const name = `enc_onehot_${j}`;
    initializers.push({ name: `${name}_idx`, dims: [1], dataType: DataType.INT64, values: [j] });
    initializers.push({
      name: `${name}_codes`,
      dims: [f.categories.length],
      dataType: DataType.DOUBLE,
      values: f.categories.map((_, k) => k),
    });
    nodes.push({
      opType: 'Gather',
      inputs: [input, `${name}_idx`],
      outputs: [`${name}_col`],
      attributes: { axis: { kind: 'int', value: 1 } },
    });
    nodes.push({ opType: 'Equal', inputs: [`${name}_col`, `${name}_codes`], outputs: [`${name}_eq`] });
    nodes.push({
      opType: 'Cast',
      inputs: [`${name}_eq`],
      outputs: [name],
      attributes: { to: { kind: 'int', value: DataType.DOUBLE } },
    });
    parts.push(name);
  });
  flushRun();
  nodes.push({
    opType: 'Concat',
    inputs: parts,
    outputs: ['encoded'],
    attributes: { axis: { kind: 'int', value: 1 } },
  });
  return { nodes, initializers, output: 'encoded' };
}
