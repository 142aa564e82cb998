import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { parse as parseYaml } from 'yaml';
import { InvalidParameterError } from '../../platform/errors';
import { decodeFields } from '../../training/onnx/protobuf';
import { type ModelSignature, ModelSignatureSchema } from './signature';

/** One graph input or output as onnxruntime-node sees it. */
export interface OnnxValueInfo {
  readonly name: string;
  /** 'tensor', or what else the graph declares ('sequence', 'map', 'sequence<map>', ...). */
  readonly kind: string;
  /** Element type for tensors (onnxruntime-node names: 'float32', 'float64', 'int64', 'string'...). */
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

export interface OnnxInspection {
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** Opset per domain ('' is the default ONNX domain). */
  readonly opsets: Readonly<Record<string, number>>;
}

const HOW_TO_EXPORT =
  'onnxruntime-node returns tensors only. Re-export with plain tensor outputs: for scikit-learn classifiers ' +
  "convert with skl2onnx `to_onnx(model, X, options={id(model): {'zipmap': False}})` (or " +
  "`options={'zipmap': False}`); for other producers drop the ZipMap/sequence node and output the probability tensor.";

/**
 * Loads model bytes in onnxruntime-node and describes its inputs, outputs and opsets.
 * Throws InvalidParameterError for bytes that are not a loadable model, and for models with
 * an output onnxruntime-node cannot return (a ZipMap's sequence of maps, any sequence or
 * map), with instructions to re-export, so the problem shows at registration, not serving.
 *
 * @example
 * const { inputs, outputs } = await inspectOnnxModel(await readFile('model.onnx'));
 */
export async function inspectOnnxModel(bytes: Uint8Array): Promise<OnnxInspection> {
  let declared: { opsets: Record<string, number>; outputKinds: Map<string, string> };
  try {
    declared = readDeclarations(bytes);
  } catch (err) {
    throw new InvalidParameterError(
      `Not an ONNX model (protobuf could not be parsed: ${(err as Error).message})`,
    );
  }
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes);
  } catch (err) {
    throw new InvalidParameterError(
      `onnxruntime-node cannot load this ONNX model: ${(err as Error).message.split('\n')[0]}. ` +
        'Export it with opsets onnxruntime supports (default domain <= 21, ai.onnx.ml <= 5).',
    );
  }
  try {
    const inputs = session.inputMetadata.map((m) => valueInfo(m));
    const outputs = session.outputMetadata.map((m) => valueInfo(m, declared.outputKinds.get(m.name)));
    const bad = outputs.filter((o) => o.kind !== 'tensor');
    if (bad.length > 0) {
      throw new InvalidParameterError(
        `Model output${bad.length > 1 ? 's' : ''} ${bad.map((o) => `'${o.name}' (${o.kind})`).join(', ')} ` +
          `${bad.length > 1 ? 'are' : 'is'} not a tensor. ${HOW_TO_EXPORT}`,
      );
    }
    return { inputs, outputs, opsets: declared.opsets };
  } finally {
    await session.release();
  }
}

/** Describes one graph input or output of a session; `kind` names what a non-tensor is. */
export function valueInfo(m: InferenceSession.ValueMetadata, kind = 'non-tensor'): OnnxValueInfo {
  return m.isTensor
    ? {
        name: m.name,
        kind: 'tensor',
        type: m.type,
        shape: m.shape.map((d) => (typeof d === 'number' ? d : String(d))),
      }
    : { name: m.name, kind };
}

function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

function describeType(typeProto: Uint8Array): string {
  for (const f of decodeFields(typeProto)) {
    if (f.wire !== 2) continue;
    if (f.field === 1) return 'tensor';
    if (f.field === 4) {
      const elem = decodeFields(f.value).find((e) => e.field === 1 && e.wire === 2);
      return elem && elem.wire === 2 ? `sequence<${describeType(elem.value)}>` : 'sequence';
    }
    if (f.field === 5) return 'map';
    if (f.field === 8) return 'sparse tensor';
    if (f.field === 9) return 'optional';
  }
  return 'unknown';
}

/** Reads opset imports and each output's declared kind straight from the protobuf. */
function readDeclarations(bytes: Uint8Array): {
  opsets: Record<string, number>;
  outputKinds: Map<string, string>;
} {
  const opsets: Record<string, number> = {};
  const outputKinds = new Map<string, string>();
  let sawGraph = false;
  for (const f of decodeFields(bytes)) {
    if (f.field === 8 && f.wire === 2) {
      let domain = '';
      let version = 0;
      for (const o of decodeFields(f.value)) {
        if (o.field === 1 && o.wire === 2) domain = text(o.value);
        if (o.field === 2 && o.wire === 0) version = Number(o.value);
      }
      opsets[domain] = version;
    }
    if (f.field === 7 && f.wire === 2) {
      sawGraph = true;
      for (const g of decodeFields(f.value)) {
        if (g.field !== 12 || g.wire !== 2) continue;
        let name = '';
        let kind = 'unknown';
        for (const v of decodeFields(g.value)) {
          if (v.field === 1 && v.wire === 2) name = text(v.value);
          if (v.field === 2 && v.wire === 2) kind = describeType(v.value);
        }
        outputKinds.set(name, kind);
      }
    }
  }
  if (!sawGraph) throw new RangeError('no graph');
  return { opsets, outputKinds };
}

/**
 * Reads a model from a `.onnx` file or an MLflow model directory (its `MLmodel` file names
 * the ONNX file under `flavors.onnx.data`).
 */
export async function readOnnxArtifact(path: string): Promise<Uint8Array> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new InvalidParameterError(`Model path '${path}' does not exist`);
  if (!info.isDirectory()) return new Uint8Array(await readFile(path));
  const mlmodel = await readFile(join(path, 'MLmodel'), 'utf8').catch(() => undefined);
  if (mlmodel === undefined) {
    throw new InvalidParameterError(
      `Directory '${path}' has no MLmodel file; pass the .onnx file or an MLflow model directory`,
    );
  }
  const doc = parseYaml(mlmodel) as { flavors?: { onnx?: { data?: unknown } } } | null;
  const data = doc?.flavors?.onnx?.data;
  if (typeof data !== 'string' || data.includes('..')) {
    throw new InvalidParameterError(
      `MLmodel in '${path}' has no onnx flavor (flavors.onnx.data); log the model with mlflow.onnx.log_model`,
    );
  }
  return new Uint8Array(await readFile(join(path, data)));
}

const ORT_TYPES: Record<string, readonly string[]> = {
  float: ['float32'],
  double: ['float64'],
  int64: ['int64'],
  string: ['string'],
  categorical: ['float32', 'float64', 'int64', 'string'],
};

/**
 * Checks a declared signature against the inspected model: every declared input and output
 * exists with a compatible type. Returns the parsed signature; throws InvalidParameterError.
 */
export function checkSignature(signature: unknown, model: OnnxInspection): ModelSignature {
  const parsed = ModelSignatureSchema.safeParse(signature);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidParameterError(`Invalid model signature at '${issue.path.join('.')}': ${issue.message}`);
  }
  const sig = parsed.data;
  const inputs = new Map(model.inputs.map((i) => [i.name, i]));
  const outputs = new Map(model.outputs.map((o) => [o.name, o]));
  if (sig.tensorInput) {
    const t = inputs.get(sig.tensorInput.name);
    if (!t) {
      throw new InvalidParameterError(
        `Signature tensorInput '${sig.tensorInput.name}' is not a model input (inputs: ${[...inputs.keys()].join(', ')})`,
      );
    }
    const want = ORT_TYPES[sig.tensorInput.elementType]!;
    if (t.type && !want.includes(t.type)) {
      throw new InvalidParameterError(
        `Signature says '${t.name}' holds ${sig.tensorInput.elementType}, the model takes ${t.type}`,
      );
    }
    const width = t.shape?.[1];
    if (typeof width === 'number' && width !== sig.inputs.length) {
      throw new InvalidParameterError(
        `Signature lists ${sig.inputs.length} inputs, model input '${t.name}' has ${width} columns`,
      );
    }
  } else {
    for (const i of sig.inputs) {
      const m = inputs.get(i.name);
      if (!m)
        throw new InvalidParameterError(
          `Signature input '${i.name}' is not a model input (inputs: ${[...inputs.keys()].join(', ')})`,
        );
      if (m.type && !ORT_TYPES[i.type]!.includes(m.type)) {
        throw new InvalidParameterError(
          `Signature says input '${i.name}' is ${i.type}, the model takes ${m.type}`,
        );
      }
    }
  }
  for (const o of sig.outputs) {
    if (!outputs.has(o.name)) {
      throw new InvalidParameterError(
        `Signature output '${o.name}' is not a model output (outputs: ${[...outputs.keys()].join(', ')})`,
      );
    }
  }
  return sig;
}
