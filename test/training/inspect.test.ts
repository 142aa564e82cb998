import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import { checkSignature, inspectOnnxModel, readOnnxArtifact } from '../../lambdas/training/onnx/inspect';
import { DataType, encodeModel, type NodeDef, tensorType } from '../../lambdas/training/onnx/model-proto';

/** A scikit-learn-style export: LinearClassifier, optionally followed by ZipMap (skl2onnx's default). */
function linearClassifier(zipmap: boolean): Uint8Array {
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
      name: 'sklearn_like',
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

describe('inspecting a bring-your-own ONNX model', () => {
  it('describes a tensor-only model: inputs, outputs and opsets', async () => {
    const info = await inspectOnnxModel(linearClassifier(false));
    expect(info.inputs).toEqual([
      { name: 'float_input', kind: 'tensor', type: 'float32', shape: [expect.any(String), 2] },
    ]);
    expect(info.outputs.map((o) => [o.name, o.kind, o.type])).toEqual([
      ['label', 'tensor', 'int64'],
      ['probability_tensor', 'tensor', 'float32'],
    ]);
    expect(info.opsets).toEqual({ '': 15, 'ai.onnx.ml': 3 });
  });

  it('rejects a ZipMap output at registration and says how to export without it', async () => {
    const err = await inspectOnnxModel(linearClassifier(true)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidParameterError);
    const message = (err as Error).message;
    expect(message).toContain("'probabilities' (sequence<map>)");
    expect(message).toContain("'zipmap': False");
  });

  it('rejects bytes that are not a model with a clear error', async () => {
    await expect(inspectOnnxModel(new TextEncoder().encode('not a model at all'))).rejects.toThrow(
      InvalidParameterError,
    );
  });

  it('reads the ONNX file an MLflow model directory names in its MLmodel file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlmodel-'));
    await mkdir(join(dir, 'data'));
    const bytes = linearClassifier(false);
    await writeFile(join(dir, 'data', 'clf.onnx'), bytes);
    await writeFile(
      join(dir, 'MLmodel'),
      'flavors:\n  onnx:\n    data: data/clf.onnx\n    onnx_version: 1.16.0\n',
    );
    expect(await readOnnxArtifact(dir)).toEqual(bytes);
    await writeFile(join(dir, 'MLmodel'), 'flavors:\n  python_function: {}\n');
    await expect(readOnnxArtifact(dir)).rejects.toThrow(/mlflow.onnx.log_model/);
  });

  it('checks a declared signature against the model', async () => {
    const info = await inspectOnnxModel(linearClassifier(false));
    const good = {
      tensorInput: { name: 'float_input', elementType: 'float' },
      inputs: [
        { name: 'x1', type: 'float' },
        { name: 'x2', type: 'float' },
      ],
      outputs: [{ name: 'probability_tensor', meaning: 'probability' }],
    };
    expect(checkSignature(good, info).inputs.map((i) => i.name)).toEqual(['x1', 'x2']);
    expect(() => checkSignature({ ...good, inputs: [{ name: 'x1', type: 'float' }] }, info)).toThrow(
      /1 inputs.*2 columns/,
    );
    expect(() =>
      checkSignature({ ...good, outputs: [{ name: 'proba', meaning: 'probability' }] }, info),
    ).toThrow(/'proba' is not a model output/);
    expect(() =>
      checkSignature({ ...good, tensorInput: { name: 'float_input', elementType: 'double' } }, info),
    ).toThrow(/float32/);
  });
});
