import { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createOnnxScorer } from '../../lambdas/serving/inference/session';
import { kserveRequest, kserveResponse, tensorsFromV2 } from '../../lambdas/serving/sagemaker/kserve';
import { graphIo, tritonConfig, tritonRepository } from '../../lambdas/serving/sagemaker/triton';
import { classifierOnnx } from '../support/onnx-fixtures';
import { trainTiny } from './support';

describe('the Triton model repository a registered version becomes', () => {
  it('reads the same inputs and outputs from the ONNX protobuf as onnxruntime does', async () => {
    for (const bytes of [trainTiny('gbdt').onnx, trainTiny('logistic').onnx, classifierOnnx(false)]) {
      const session = await createOnnxScorer(bytes);
      const io = graphIo(bytes);
      const strip = (l: readonly { name: string; type?: string; shape?: readonly (number | string)[] }[]) =>
        l.map((v) => ({
          name: v.name,
          type: v.type,
          shape: v.shape?.map((d) => (typeof d === 'number' ? d : -1)),
        }));
      expect(strip(io.inputs)).toEqual(strip(session.inputs));
      expect(strip(io.outputs)).toEqual(strip(session.outputs));
      await session.release();
    }
  });

  it("writes config.pbtxt for Triton's ONNX Runtime backend and the version directory", () => {
    const bytes = classifierOnnx(false);
    const files = tritonRepository('churn', '7', bytes, graphIo(bytes));
    expect(files.map((f) => f.path)).toEqual(['churn/config.pbtxt', 'churn/7/model.onnx']);
    expect(files[1]?.body).toBe(bytes);
    expect(files[0]?.body).toBe(
      [
        'name: "churn"',
        'backend: "onnxruntime"',
        'max_batch_size: 0',
        'version_policy: { specific: { versions: [ 7 ] } }',
        'input [',
        '  { name: "float_input" data_type: TYPE_FP32 dims: [ -1, 2 ] }',
        ']',
        'output [',
        '  { name: "label" data_type: TYPE_INT64 dims: [ -1 ] },',
        '  { name: "probability_tensor" data_type: TYPE_FP32 dims: [ -1, 2 ] }',
        ']',
        'instance_group [ { kind: KIND_CPU } ]',
        '',
      ].join('\n'),
    );
    expect(() => tritonConfig('churn', 'latest', graphIo(bytes))).toThrow(/versions are numbers/);
  });

  it('refuses bytes that are not ONNX, naming the problem', () => {
    expect(() => graphIo(new TextEncoder().encode('not a model'))).toThrow(/Not an ONNX model/);
  });
});

describe('KServe v2 tensors between the front and the container', () => {
  it('carry every element type the front feeds exactly, a missing value as null and back as NaN', () => {
    const feeds = {
      features: new Tensor('float32', Float32Array.from([0.1, Number.NaN, 3]), [3, 1]),
      wide: new Tensor('float64', Float64Array.from([1e-300, Number.NaN]), [1, 2]),
      codes: new Tensor('int64', BigInt64Array.from([-1n, 2n]), [2]),
    };
    const wire = JSON.parse(JSON.stringify(kserveRequest(feeds, ['p'])));
    expect(wire.outputs).toEqual([{ name: 'p' }]);
    expect(wire.inputs[0]).toMatchObject({ name: 'features', datatype: 'FP32', shape: [3, 1] });
    const back = tensorsFromV2(wire.inputs);
    for (const [name, t] of Object.entries(feeds)) {
      expect(back[name]?.type).toBe(t.type);
      expect(back[name]?.dims).toEqual(t.dims);
      expect(Array.from(back[name]?.data as ArrayLike<number | bigint>)).toEqual(
        Array.from(t.data as ArrayLike<number | bigint>),
      );
    }
    const answer = JSON.parse(JSON.stringify(kserveResponse('churn', '3', { p: feeds.features }, 'r1')));
    expect(answer).toMatchObject({ model_name: 'churn', model_version: '3', id: 'r1' });
  });

  it('refuses a tensor whose data does not fill its shape, naming it', () => {
    expect(() => tensorsFromV2([{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3] }])).toThrow(
      /tensor 0 \('x'\) has 3 values for shape \[2, 2\]/,
    );
    expect(() => tensorsFromV2([{ name: 'x', datatype: 'FP128', shape: [1], data: [1] }])).toThrow(
      /unknown datatype 'FP128'/,
    );
  });
});
