import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import { checkSignature, inspectOnnxModel, readOnnxArtifact } from '../../lambdas/serving/inference/inspect';
import { classifierOnnx } from '../support/onnx-fixtures';

describe('inspecting a bring-your-own ONNX model', () => {
  it('describes a tensor-only model: inputs, outputs and opsets', async () => {
    const info = await inspectOnnxModel(classifierOnnx(false));
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
    const err = await inspectOnnxModel(classifierOnnx(true)).catch((e: unknown) => e);
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
    const bytes = classifierOnnx(false);
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
    const info = await inspectOnnxModel(classifierOnnx(false));
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
