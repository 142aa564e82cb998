import { InvalidParameterError } from '../../platform/errors';
import { decodeFields } from '../../training/onnx/protobuf';
import type { OnnxValueInfo } from '../inference/inspect';

/**
 * The SageMaker backend's serving container is NVIDIA Triton Inference Server with its ONNX
 * Runtime backend (docs/serving.md, "SageMaker backend"). This module is the contract with
 * it: the model repository a registered version becomes (kserve.ts has the tensors the
 * front sends to `/invocations`). Neither AWS nor onnxruntime is imported: the deployment
 * functions, which carry no native library, package versions with it.
 */

/** ONNX Runtime element types as KServe v2 datatypes (Triton's wire names). */
export const V2_OF_ORT: Record<string, string> = {
  float32: 'FP32',
  float64: 'FP64',
  int64: 'INT64',
  int32: 'INT32',
  int8: 'INT8',
  uint8: 'UINT8',
  bool: 'BOOL',
  string: 'BYTES',
  float16: 'FP16',
};
export const ORT_OF_V2 = Object.fromEntries(Object.entries(V2_OF_ORT).map(([k, v]) => [v, k])) as Record<
  string,
  string
>;
/** Triton's config.pbtxt types (`TYPE_STRING` is BYTES on the wire). */
const CONFIG_TYPE: Record<string, string> = {
  FP32: 'TYPE_FP32',
  FP64: 'TYPE_FP64',
  INT64: 'TYPE_INT64',
  INT32: 'TYPE_INT32',
  INT8: 'TYPE_INT8',
  UINT8: 'TYPE_UINT8',
  BOOL: 'TYPE_BOOL',
  BYTES: 'TYPE_STRING',
  FP16: 'TYPE_FP16',
};

function v2Type(info: OnnxValueInfo): string {
  const t = V2_OF_ORT[info.type ?? ''];
  if (!t || info.kind !== 'tensor') {
    throw new InvalidParameterError(
      `'${info.name}' is a ${info.kind} of ${info.type ?? 'unknown'} elements; Triton's ONNX backend serves tensors of ${Object.keys(V2_OF_ORT).join(', ')}`,
    );
  }
  return t;
}

/** A graph dimension as Triton's config writes it: a fixed size, or -1 when symbolic. */
const dim = (d: number | string) => (typeof d === 'number' && d >= 0 ? String(d) : '-1');

/**
 * Triton's `config.pbtxt` for one ONNX model: the ONNX Runtime backend, no server-side
 * batching (`max_batch_size: 0`: the front already sends all of a request's rows as one
 * tensor), the graph's inputs and outputs with their shapes, and only this version loaded.
 *
 * @example
 * tritonConfig('churn', '3', { inputs: scorer.inputs, outputs: scorer.outputs });
 */
export function tritonConfig(
  name: string,
  version: string,
  io: { readonly inputs: readonly OnnxValueInfo[]; readonly outputs: readonly OnnxValueInfo[] },
): string {
  if (!/^\d+$/.test(version)) {
    throw new InvalidParameterError(`Triton model versions are numbers; got version '${version}'`);
  }
  const tensor = (t: OnnxValueInfo) =>
    `  { name: ${JSON.stringify(t.name)} data_type: ${CONFIG_TYPE[v2Type(t)]} dims: [ ${(t.shape ?? [-1]).map(dim).join(', ')} ] }`;
  return [
    `name: ${JSON.stringify(name)}`,
    'backend: "onnxruntime"',
    'max_batch_size: 0',
    `version_policy: { specific: { versions: [ ${version} ] } }`,
    'input [',
    io.inputs.map(tensor).join(',\n'),
    ']',
    'output [',
    io.outputs.map(tensor).join(',\n'),
    ']',
    'instance_group [ { kind: KIND_CPU } ]',
    '',
  ].join('\n');
}

/** ONNX TensorProto element types as onnxruntime-node names them. */
const ORT_OF_ONNX: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
};

/**
 * The graph's inputs (initializers excluded) and outputs with element types and shapes, read
 * from the ONNX protobuf without onnxruntime, so packaging runs in a function without the
 * native library. Throws InvalidParameterError for bytes that are not an ONNX model.
 *
 * @example
 * const { inputs, outputs } = graphIo(bytes); // inputs[0]: { name: 'features', kind: 'tensor', type: 'float32', shape: ['N', 3] }
 */
export function graphIo(bytes: Uint8Array): { inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] } {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const valueInfo = (b: Uint8Array): OnnxValueInfo => {
    let name = '';
    let info: Omit<OnnxValueInfo, 'name'> = { kind: 'unknown' };
    for (const f of decodeFields(b)) {
      if (f.field === 1 && f.wire === 2) name = text(f.value);
      if (f.field !== 2 || f.wire !== 2) continue;
      const tensor = decodeFields(f.value).find((t) => t.field === 1 && t.wire === 2);
      if (tensor?.wire !== 2) continue;
      let type: string | undefined;
      const shape: (number | string)[] = [];
      for (const t of decodeFields(tensor.value)) {
        if (t.field === 1 && t.wire === 0) type = ORT_OF_ONNX[Number(t.value)];
        if (t.field !== 2 || t.wire !== 2) continue;
        for (const d of decodeFields(t.value)) {
          if (d.field !== 1 || d.wire !== 2) continue;
          const parts = decodeFields(d.value);
          const size = parts.find((x) => x.field === 1 && x.wire === 0);
          const param = parts.find((x) => x.field === 2 && x.wire === 2);
          shape.push(
            size && size.wire === 0 ? Number(size.value) : param && param.wire === 2 ? text(param.value) : -1,
          );
        }
      }
      info = { kind: 'tensor', ...(type ? { type } : {}), shape };
    }
    return { name, ...info };
  };
  try {
    const graph = decodeFields(bytes).find((f) => f.field === 7 && f.wire === 2);
    if (graph?.wire !== 2) throw new RangeError('no graph');
    const fields = decodeFields(graph.value);
    const initializers = new Set<string>();
    for (const f of fields) {
      if (f.field !== 5 || f.wire !== 2) continue;
      const n = decodeFields(f.value).find((x) => x.field === 8 && x.wire === 2);
      if (n && n.wire === 2) initializers.add(text(n.value));
    }
    const list = (field: number) =>
      fields.filter((f) => f.field === field && f.wire === 2).map((f) => valueInfo(f.value as Uint8Array));
    return { inputs: list(11).filter((i) => !initializers.has(i.name)), outputs: list(12) };
  } catch (err) {
    throw new InvalidParameterError(
      `Not an ONNX model (protobuf could not be parsed: ${(err as Error).message})`,
    );
  }
}

/** One file of a model repository, relative to the repository's prefix. */
export interface RepositoryFile {
  readonly path: string;
  readonly body: Uint8Array | string;
}

/**
 * The Triton model repository a registered version becomes:
 * `<model>/config.pbtxt` and `<model>/<version>/model.onnx`. The version directory is the
 * registry's version number, so Triton's answer (`model_version`) names the registered
 * version that scored the request.
 *
 * @example
 * for (const f of tritonRepository('churn', '3', bytes, scorer)) await store.put(bucket, prefix + f.path, f.body);
 */
export function tritonRepository(
  model: string,
  version: string,
  onnx: Uint8Array,
  io: { readonly inputs: readonly OnnxValueInfo[]; readonly outputs: readonly OnnxValueInfo[] },
): RepositoryFile[] {
  return [
    { path: `${model}/config.pbtxt`, body: tritonConfig(model, version, io) },
    { path: `${model}/${version}/model.onnx`, body: onnx },
  ];
}
