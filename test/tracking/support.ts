import { inject } from 'vitest';
import { DataType, encodeModel, type NodeDef, tensorType } from '../../lambdas/training/onnx/model-proto';

export const apiUrl = inject('apiUrl');

/** A JSON call to the local gateway; answers status and parsed body. */
export async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const url = path.startsWith('/') ? `${apiUrl}${path}` : `${apiUrl}/api/2.0/mlflow/${path}`;
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** A unique name per test so suites sharing the runtime do not collide. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A small classifier as ONNX; with `zipmap` its probability output is a sequence of maps, not a tensor. */
export function classifierOnnx(zipmap: boolean): Uint8Array {
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
      name: 'classifier',
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

/** Uploads bytes through the artifact proxy under a run's artifact root. */
export async function putArtifact(
  artifactUri: string,
  path: string,
  body: Uint8Array | string,
): Promise<number> {
  const root = artifactUri.replace(/^mlflow-artifacts:\//, '');
  const res = await fetch(`${apiUrl}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}
