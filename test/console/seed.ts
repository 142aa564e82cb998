import { deflateSync } from 'node:zlib';

// biome-ignore lint/suspicious/noExplicitAny: API answers are read field by field
export type Json = any;

/** Sends a JSON call to the local API (a `/...` path, or an MLflow path): the status and the raw body. */
export async function apiRequest(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const url = path.startsWith('/') ? `${base}${path}` : `${base}/api/2.0/mlflow/${path}`;
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** A JSON call to the local API; throws with the answer on a non-2xx status. */
export async function call(base: string, method: string, path: string, body?: unknown): Promise<Json> {
  const { status, text } = await apiRequest(base, method, path, body);
  if (status < 200 || status > 299) throw new Error(`${method} ${path}: ${status} ${text}`);
  return text ? JSON.parse(text) : {};
}

export interface SeededRun {
  runId: string;
  name: string;
  algorithm: 'gbdt' | 'logistic';
  learningRate: number;
}

/**
 * Runs as a training pipeline logs them, through the MLflow API: an algorithm and a learning
 * rate, a loss curve over `steps` steps (its level depends on both, so curves differ) and a final AUC.
 */
export async function seedRuns(base: string, experimentName: string, count: number, steps = 10) {
  const experimentId = (await call(base, 'POST', 'experiments/create', { name: experimentName }))
    .experiment_id as string;
  const runs: SeededRun[] = [];
  for (let i = 0; i < count; i++) {
    const algorithm = i % 2 === 0 ? 'gbdt' : 'logistic';
    const learningRate = 0.05 * (1 + (i % 4));
    const name = `${algorithm}-${i}`;
    const run = (
      await call(base, 'POST', 'runs/create', {
        experiment_id: experimentId,
        run_name: name,
        start_time: 1_700_000_000_000 + i * 1000,
      })
    ).run;
    const runId = run.info.run_id as string;
    const t = 1_700_000_000_000 + i * 1000;
    const metrics = Array.from({ length: steps }, (_, s) => ({
      key: 'loss',
      value: (algorithm === 'gbdt' ? 0.4 : 0.6) * Math.exp(-learningRate * s) + i * 0.001,
      timestamp: t + s,
      step: s,
    }));
    metrics.push({ key: 'auc', value: 0.7 + i * 0.01, timestamp: t + steps, step: 0 });
    await call(base, 'POST', 'runs/log-batch', {
      run_id: runId,
      metrics,
      params: [
        { key: 'algorithm', value: algorithm },
        { key: 'learning_rate', value: String(learningRate) },
      ],
      tags: [{ key: 'team', value: 'growth' }],
    });
    await call(base, 'POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: t + 5000 });
    runs.push({ runId, name, algorithm, learningRate });
  }
  return { experimentId, runs };
}

/** A small valid PNG (a gradient), so the page's inline image has real pixels to decode. */
export function pngImage(width = 32, height = 16): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = (crcTable[(c ^ x) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set([x * 8, y * 16, 128], y * (width * 3 + 1) + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Stores a file under a run's artifact root through the artifact proxy route. */
export async function putArtifact(
  base: string,
  artifactUri: string,
  path: string,
  body: Uint8Array | string,
) {
  const root = artifactUri.replace(/^mlflow-artifacts:\/*/, '');
  const res = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
  if (!res.ok) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}

/** The bodies of the model files a registered version needs (see test/serving/support.ts). */
export interface ModelFiles {
  readonly onnx: Uint8Array;
  readonly signature: unknown;
  readonly rows: Record<string, number | string | null>[];
}

/**
 * Logs a model under a run of `experimentId` and registers it; returns the version. `extra`
 * adds run artifacts (a baseline profile at `profile/baseline_profile.json`) and metrics
 * (`test_auc`), as the training pipeline logs them.
 */
export async function registerVersion(
  base: string,
  model: string,
  experimentId: string,
  files: ModelFiles,
  extra: { artifacts?: Record<string, string>; metrics?: Record<string, number> } = {},
) {
  const run = (await call(base, 'POST', 'runs/create', { experiment_id: experimentId })).run;
  for (const [path, body] of Object.entries(extra.artifacts ?? {})) {
    await putArtifact(base, run.info.artifact_uri, path, body);
  }
  for (const [key, value] of Object.entries(extra.metrics ?? {})) {
    await call(base, 'POST', 'runs/log-metric', {
      run_id: run.info.run_id,
      key,
      value,
      timestamp: Date.now(),
    });
  }
  await putArtifact(base, run.info.artifact_uri, 'model/model.onnx', files.onnx);
  await putArtifact(base, run.info.artifact_uri, 'model/signature.json', JSON.stringify(files.signature));
  await putArtifact(
    base,
    run.info.artifact_uri,
    'model/MLmodel',
    'flavors:\n  onnx:\n    data: model.onnx\n',
  );
  const v = await call(base, 'POST', 'model-versions/create', {
    name: model,
    source: `runs:/${run.info.run_id}/model`,
    run_id: run.info.run_id,
  });
  if (v.model_version.status !== 'READY')
    throw new Error(`v${v.model_version.version}: ${v.model_version.status_message}`);
  return v.model_version.version as string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value (not undefined), or throws after `tries`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  tries = 240,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}
