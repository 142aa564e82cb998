import { inject } from 'vitest';

export { classifierOnnx } from '../support/onnx-fixtures';

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
