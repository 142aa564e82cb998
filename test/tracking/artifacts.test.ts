import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import MLflow from 'mlflow';
import { describe, expect, it, vi } from 'vitest';
import { createMlflowClient } from '../../lambdas/tracking/client/mlflow-client';
import { apiUrl, call, classifierOnnx, putArtifact, unique } from './support';

const proxy = (path: string) => `${apiUrl}/api/2.0/mlflow-artifacts/${path}`;

async function newRun() {
  const exp = await call('POST', 'experiments/create', { name: unique('art') });
  const run = (await call('POST', 'runs/create', { experiment_id: exp.body.experiment_id })).body.run;
  const uri = run.info.artifact_uri as string;
  return { runId: run.info.run_id as string, uri, root: uri.replace('mlflow-artifacts:/', '') };
}

/** A request with exactly the headers given (fetch would add a content type for some bodies). */
function raw(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: Uint8Array,
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('artifact bodies of every content type', () => {
  it('come back byte for byte, and MLflow clients list their true size', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const { runId, root } = await newRun();
    const types = ['image/png', 'text/plain', 'application/json', undefined, 'application/octet-stream'];
    const bytes = randomBytes(3000);
    for (const [i, type] of types.entries()) {
      const headers: Record<string, string> = { 'content-length': String(bytes.length) };
      if (type) headers['content-type'] = type;
      const put = await raw('PUT', proxy(`artifacts/${root}/f${i}.bin`), headers, bytes);
      expect(put.status, String(type)).toBe(200);
      const got = await raw('GET', proxy(`artifacts/${root}/f${i}.bin`), { accept: type ?? '*/*' });
      expect(got.status).toBe(200);
      expect(got.body.length, String(type)).toBe(3000);
      expect(got.body.equals(bytes), String(type)).toBe(true);
    }
    // The independent npm client sees the same sizes.
    // biome-ignore lint/suspicious/noExplicitAny: an untyped third-party client
    const client: any = new MLflow({ endpoint: apiUrl });
    const listed = await client.Artifacts.list({ run_id: runId });
    expect(listed.files).toEqual(
      types.map((_, i) => ({ path: `f${i}.bin`, is_dir: false, file_size: 3000 })),
    );
  });

  it('keeps JSON answers as JSON text whatever the Accept', async () => {
    const { runId } = await newRun();
    const res = await raw('GET', `${apiUrl}/api/2.0/mlflow/runs/get?run_id=${runId}`, {
      accept: 'image/png',
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString('utf8')).run.info.run_id).toBe(runId);
  });
});

describe('large artifacts', () => {
  it('a 50 MB artifact goes up in presigned parts and comes down through a redirect', async () => {
    const { runId, root } = await newRun();
    const big = randomBytes(50 * 1024 * 1024);
    const { artifacts } = createMlflowClient({ apiUrl });
    await artifacts.upload(runId, 'data/big.bin', big);
    // The proxy answers a redirect to a presigned URL, which the local runtime serves.
    const redirect = await fetch(proxy(`artifacts/${root}/data/big.bin`), { redirect: 'manual' });
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('location')).toContain('/_local/s3/');
    const down = await artifacts.download(runId, 'data/big.bin');
    expect(down.byteLength).toBe(big.length);
    expect(sha(down)).toBe(sha(big));
    expect((await call('GET', `artifacts/list?run_id=${runId}&path=data`)).body.files).toEqual([
      { path: 'data/big.bin', is_dir: false, file_size: big.length },
    ]);
  });

  it('a proxied upload over 4 MiB answers 413 naming the multipart setting', async () => {
    const { root } = await newRun();
    const res = await raw(
      'PUT',
      proxy(`artifacts/${root}/too-big.bin`),
      { 'content-type': 'application/octet-stream' },
      randomBytes(4 * 1024 * 1024 + 1),
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.toString()).message).toContain('MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD');
  });
});

describe('multipart uploads (MLflow mpu endpoints)', () => {
  async function start(root: string, numParts: number) {
    const created = await call('POST', `/api/2.0/mlflow-artifacts/mpu/create/${root}/m.bin`, {
      path: `${root}/m.bin`,
      num_parts: numParts,
    });
    expect(created.status).toBe(200);
    return created.body as { upload_id: string; credentials: { part_number: number; url: string }[] };
  }
  const putPart = async (url: string, body: string) => {
    const res = await fetch(url, { method: 'PUT', body });
    await res.arrayBuffer();
    return { status: res.status, etag: res.headers.get('etag') ?? '' };
  };
  const complete = (root: string, upload_id: string, parts: { part_number: number; etag: string }[]) =>
    call('POST', `/api/2.0/mlflow-artifacts/mpu/complete/${root}/m.bin`, { upload_id, parts });

  it('the last PUT of a part number wins, its ETag is checked, and a retried complete succeeds', async () => {
    const { root } = await newRun();
    const up = await start(root, 2);
    const [one, two] = up.credentials as unknown as [{ url: string }, { url: string }];
    const first = await putPart(one.url, 'old ');
    const again = await putPart(one.url, 'new ');
    const second = await putPart(two.url, 'bytes');
    expect([first.status, again.status, second.status]).toEqual([200, 200, 200]);
    const stale = await complete(root, up.upload_id, [
      { part_number: 1, etag: first.etag },
      { part_number: 2, etag: second.etag },
    ]);
    expect(stale).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    const dup = await complete(root, up.upload_id, [
      { part_number: 1, etag: again.etag },
      { part_number: 1, etag: again.etag },
    ]);
    expect(dup.status).toBe(400);
    const parts = [
      { part_number: 1, etag: again.etag },
      { part_number: 2, etag: second.etag },
    ];
    expect((await complete(root, up.upload_id, parts)).status).toBe(200);
    expect((await complete(root, up.upload_id, parts)).status).toBe(200);
    expect(await (await fetch(proxy(`artifacts/${root}/m.bin`))).text()).toBe('new bytes');
  });

  it('refuses parts of an upload never issued or aborted, and part numbers out of range', async () => {
    const { root } = await newRun();
    const up = await start(root, 1);
    const url = (up.credentials[0] as { url: string }).url;
    const forged = url.replace(up.upload_id, '00000000-0000-4000-8000-000000000000');
    expect((await putPart(forged, 'x')).status).toBe(403);
    expect((await putPart(url.replace('partNumber=1', 'partNumber=-1'), 'x')).status).toBe(403);
    const negative = await complete(root, up.upload_id, [{ part_number: -1, etag: '"x"' }]);
    expect(negative.status).toBe(400);
    const unknown = await complete(root, '00000000-0000-4000-8000-000000000000', [
      { part_number: 1, etag: '"x"' },
    ]);
    expect(unknown).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
    const abort = () =>
      call('POST', `/api/2.0/mlflow-artifacts/mpu/abort/${root}/m.bin`, { upload_id: up.upload_id });
    expect((await abort()).status).toBe(200);
    expect((await abort()).status).toBe(200);
    expect((await putPart(url, 'late')).status).toBe(404);
  });
});

describe('artifact paths and the runs and models they belong to', () => {
  it('a file where a directory is, or a directory where a file is, is a 400, as is a name over 255 bytes', async () => {
    const { uri } = await newRun();
    expect(await putArtifact(uri, 'a/b', 'file')).toBe(200);
    expect(await putArtifact(uri, 'a/b/c', 'under a file')).toBe(400);
    expect(await putArtifact(uri, 'd/e/f', 'deep')).toBe(200);
    expect(await putArtifact(uri, 'd/e', 'on a directory')).toBe(400);
    expect(await putArtifact(uri, `g/${'n'.repeat(256)}`, 'long')).toBe(400);
    expect(await putArtifact(uri, `g/${'é'.repeat(128)}`, 'long in bytes')).toBe(400);
    expect(await putArtifact(uri, `g/${'n'.repeat(255)}`, 'fits')).toBe(200);
  });

  it('deleting a directory answers 200, again on every retry, and frees its name', async () => {
    const { uri, root } = await newRun();
    expect(await putArtifact(uri, 'dir/x/1.txt', '1')).toBe(200);
    expect(await putArtifact(uri, 'dir/2.txt', '2')).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await call('DELETE', `/api/2.0/mlflow-artifacts/artifacts/${root}/dir`)).status).toBe(200);
    }
    expect((await call('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${root}`)).body.files).toEqual([]);
    expect(await putArtifact(uri, 'dir', 'now a file')).toBe(200);
  });

  it('uploads to a run that does not exist answer 404', async () => {
    const { root } = await newRun();
    const [exp] = root.split('/');
    const ghost = `${exp}/0123456789abcdef0123456789abcdef/artifacts`;
    const res = await raw(
      'PUT',
      proxy(`artifacts/${ghost}/x.txt`),
      { 'content-type': 'text/plain' },
      Buffer.from('x'),
    );
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body.toString()).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const mpu = await call('POST', `/api/2.0/mlflow-artifacts/mpu/create/${ghost}/x.bin`, { num_parts: 1 });
    expect(mpu.status).toBe(404);
  });

  it('the files of a READY model version cannot be replaced or deleted', async () => {
    const { runId, uri, root } = await newRun();
    const mlmodel =
      'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.15.0\n';
    expect(await putArtifact(uri, 'model/MLmodel', mlmodel)).toBe(200);
    expect(await putArtifact(uri, 'model/model.onnx', classifierOnnx(false))).toBe(200);
    // Before registration the file may be replaced.
    expect(await putArtifact(uri, 'model/model.onnx', classifierOnnx(false))).toBe(200);
    const name = unique('guarded');
    await call('POST', 'registered-models/create', { name });
    const v = await call('POST', 'model-versions/create', {
      name,
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(v.body.model_version.status).toBe('READY');
    const res = await raw('PUT', proxy(`artifacts/${root}/model/model.onnx`), {}, Buffer.from('overwritten'));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString()).message).toContain(name);
    expect((await call('DELETE', `/api/2.0/mlflow-artifacts/artifacts/${root}/model`)).status).toBe(400);
    // Other files of the run stay writable.
    expect(await putArtifact(uri, 'notes.txt', 'still fine')).toBe(200);
  });
});
