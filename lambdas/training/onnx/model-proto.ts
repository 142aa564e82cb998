import { ProtoWriter } from './protobuf';

/**
 * Plain-object descriptions of the ONNX messages we emit, and their encoder. Field numbers
 * follow onnx/onnx.proto3; only the fields our exporters and test models use are covered.
 */

/** ONNX TensorProto.DataType codes used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, DOUBLE: 11 } as const;
export type ElemType = (typeof DataType)[keyof typeof DataType];

/** A constant tensor (initializer or tensor attribute). */
export interface TensorDef {
  readonly name?: string;
  readonly dims: readonly number[];
  readonly dataType: ElemType;
  /** Numbers for numeric types (encoded as the type requires), strings for STRING. */
  readonly values: ArrayLike<number> | readonly string[];
}

export type AttrValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: ArrayLike<number> }
  | { readonly kind: 'floats'; readonly value: ArrayLike<number> }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'tensor'; readonly value: TensorDef };

export interface NodeDef {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly domain?: string;
  readonly name?: string;
  readonly attributes?: Readonly<Record<string, AttrValue>>;
}

/** A value's declared type: a tensor (dims: number, a symbolic name, or null for unknown) or a non-tensor. */
export type TypeDef =
  | { readonly tensor: { readonly elemType: ElemType; readonly shape: readonly (number | string | null)[] } }
  | { readonly sequenceOf: TypeDef }
  | { readonly map: { readonly keyType: ElemType; readonly valueType: TypeDef } };

export interface ValueInfoDef {
  readonly name: string;
  readonly type: TypeDef;
}

export interface GraphDef {
  readonly name: string;
  readonly nodes: readonly NodeDef[];
  readonly inputs: readonly ValueInfoDef[];
  readonly outputs: readonly ValueInfoDef[];
  readonly initializers?: readonly TensorDef[];
}

export interface ModelDef {
  readonly graph: GraphDef;
  /** Opset per domain ('' is the default ONNX domain). */
  readonly opsets: Readonly<Record<string, number>>;
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;

function encodeTensor(t: TensorDef): Uint8Array {
  const w = new ProtoWriter();
  w.packedInts(1, t.dims);
  w.int(2, t.dataType);
  if (t.name) w.string(8, t.name);
  const v = t.values;
  if (t.dataType === DataType.STRING) {
    for (const s of v as readonly string[]) w.string(6, s);
  } else if (t.dataType === DataType.FLOAT) {
    w.packedFloats(4, v as ArrayLike<number>);
  } else if (t.dataType === DataType.DOUBLE) {
    w.packedDoubles(10, v as ArrayLike<number>);
  } else if (t.dataType === DataType.INT64) {
    w.packedInts(7, v as ArrayLike<number>);
  } else {
    // int32, uint8 and bool all travel in int32_data.
    w.packedInts(5, v as ArrayLike<number>);
  }
  return w.finish();
}

function encodeAttribute(name: string, a: AttrValue): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.bytes(5, encodeTensor(a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
    case 'strings':
      for (const s of a.value) w.string(9, s);
      break;
  }
  w.int(20, ATTR_TYPE[a.kind]);
  return w.finish();
}

function encodeNode(n: NodeDef, index: number): Uint8Array {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name ?? `${n.opType}_${index}`);
  w.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.bytes(5, encodeAttribute(k, v));
  if (n.domain) w.string(7, n.domain);
  return w.finish();
}

function encodeType(t: TypeDef): Uint8Array {
  const w = new ProtoWriter();
  if ('tensor' in t) {
    const tensor = new ProtoWriter();
    tensor.int(1, t.tensor.elemType);
    const shape = new ProtoWriter();
    for (const d of t.tensor.shape) {
      const dim = new ProtoWriter();
      if (typeof d === 'number') dim.int(1, d);
      else if (typeof d === 'string') dim.string(2, d);
      shape.bytes(1, dim.finish());
    }
    tensor.bytes(2, shape.finish());
    w.bytes(1, tensor.finish());
  } else if ('sequenceOf' in t) {
    const seq = new ProtoWriter();
    seq.bytes(1, encodeType(t.sequenceOf));
    w.bytes(4, seq.finish());
  } else {
    const map = new ProtoWriter();
    map.int(1, t.map.keyType);
    map.bytes(2, encodeType(t.map.valueType));
    w.bytes(5, map.finish());
  }
  return w.finish();
}

function encodeValueInfo(v: ValueInfoDef): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, v.name);
  w.bytes(2, encodeType(v.type));
  return w.finish();
}

function encodeGraph(g: GraphDef): Uint8Array {
  const w = new ProtoWriter();
  g.nodes.forEach((n, i) => {
    w.bytes(1, encodeNode(n, i));
  });
  w.string(2, g.name);
  for (const t of g.initializers ?? []) w.bytes(5, encodeTensor(t));
  for (const v of g.inputs) w.bytes(11, encodeValueInfo(v));
  for (const v of g.outputs) w.bytes(12, encodeValueInfo(v));
  return w.finish();
}

/**
 * Serializes a model to ONNX protobuf bytes, loadable by `InferenceSession.create(bytes)`.
 *
 * @example
 * const bytes = encodeModel({ graph, opsets: { '': 15, 'ai.onnx.ml': 3 } });
 */
export function encodeModel(m: ModelDef): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, m.irVersion ?? 8);
  w.string(2, m.producerName ?? 'serverless-mlops');
  w.string(3, '0.1.0');
  w.bytes(7, encodeGraph(m.graph));
  for (const [domain, version] of Object.entries(m.opsets)) {
    const o = new ProtoWriter();
    o.string(1, domain);
    o.int(2, version);
    w.bytes(8, o.finish());
  }
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    const p = new ProtoWriter();
    p.string(1, key);
    p.string(2, value);
    w.bytes(14, p.finish());
  }
  return w.finish();
}

/** Shorthand for a tensor type in a ValueInfo. */
export function tensorType(elemType: ElemType, shape: readonly (number | string | null)[]): TypeDef {
  return { tensor: { elemType, shape } };
}
