import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { apiUrl, call, putArtifact, unique } from './support';

async function newRun(experimentName = unique('exp'), startTime?: number) {
  const exp = await call('POST', 'experiments/create', { name: experimentName });
  const run = await call('POST', 'runs/create', {
    experiment_id: exp.body.experiment_id,
    start_time: startTime,
  });
  return {
    experimentId: exp.body.experiment_id as string,
    run: run.body.run,
    runId: run.body.run.info.run_id as string,
  };
}

describe('experiments', () => {
  it('has the default experiment 0 and finds experiments by id and by name', async () => {
    expect((await call('GET', 'experiments/get?experiment_id=0')).body.experiment).toMatchObject({
      name: 'Default',
      lifecycle_stage: 'active',
    });
    const name = unique('exp');
    const created = await call('POST', 'experiments/create', {
      name,
      tags: [{ key: 'team', value: 'risk' }],
    });
    expect(created.status).toBe(200);
    const byName = await call('GET', `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
    expect(byName.body.experiment).toMatchObject({
      experiment_id: created.body.experiment_id,
      name,
      tags: [{ key: 'team', value: 'risk' }],
    });
    expect(byName.body.experiment.artifact_location).toBe(`mlflow-artifacts:/${created.body.experiment_id}`);
  });

  it('answers a duplicate name with 400 RESOURCE_ALREADY_EXISTS and an unknown one with 404', async () => {
    const name = unique('dup');
    await call('POST', 'experiments/create', { name });
    const again = await call('POST', 'experiments/create', { name });
    expect(again).toMatchObject({ status: 400, body: { error_code: 'RESOURCE_ALREADY_EXISTS' } });
    expect(await call('GET', 'experiments/get?experiment_id=987654')).toMatchObject({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
    });
    expect((await call('GET', `experiments/get-by-name?experiment_name=${unique('none')}`)).status).toBe(404);
    expect(await call('POST', 'experiments/create', {})).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE' },
    });
  });

  it('renames, tags, deletes and restores, and search follows the lifecycle', async () => {
    const name = unique('life');
    const { body } = await call('POST', 'experiments/create', { name });
    const id = body.experiment_id;
    expect(
      (await call('POST', 'experiments/update', { experiment_id: id, new_name: `${name}-renamed` })).status,
    ).toBe(200);
    expect(
      (await call('POST', 'experiments/set-experiment-tag', { experiment_id: id, key: 'k', value: 'v' }))
        .status,
    ).toBe(200);
    const renamed = (await call('GET', `experiments/get?experiment_id=${id}`)).body.experiment;
    expect(renamed).toMatchObject({ name: `${name}-renamed`, tags: [{ key: 'k', value: 'v' }] });
    // The old name is free again.
    expect((await call('POST', 'experiments/create', { name })).status).toBe(200);
    await call('POST', 'experiments/delete', { experiment_id: id });
    const filter = `name = '${name}-renamed'`;
    expect((await call('POST', 'experiments/search', { filter })).body.experiments ?? []).toHaveLength(0);
    expect(
      (await call('POST', 'experiments/search', { filter, view_type: 'DELETED_ONLY' })).body.experiments,
    ).toHaveLength(1);
    await call('POST', 'experiments/restore', { experiment_id: id });
    const viaGet = await call('GET', `experiments/search?filter=${encodeURIComponent(filter)}&max_results=5`);
    expect(viaGet.body.experiments.map((e: any) => e.experiment_id)).toEqual([id]);
    expect((await call('POST', 'experiments/delete', { experiment_id: '0' })).status).toBe(400);
  });
});

describe('runs', () => {
  it('creates RUNNING runs with a proxied artifact uri, updates, deletes and restores them', async () => {
    const { runId, experimentId, run } = await newRun();
    expect(run.info).toMatchObject({
      status: 'RUNNING',
      lifecycle_stage: 'active',
      artifact_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
    });
    const updated = await call('POST', 'runs/update', {
      run_id: runId,
      status: 'FINISHED',
      end_time: 5000,
      run_name: 'renamed',
    });
    expect(updated.body.run_info).toMatchObject({ status: 'FINISHED', end_time: 5000, run_name: 'renamed' });
    const got = (await call('GET', `runs/get?run_id=${runId}`)).body.run;
    expect(got.data.tags).toContainEqual({ key: 'mlflow.runName', value: 'renamed' });
    await call('POST', 'runs/delete', { run_id: runId });
    expect((await call('GET', `runs/get?run_id=${runId}`)).body.run.info.lifecycle_stage).toBe('deleted');
    const write = await call('POST', 'runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1 });
    expect(write).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    await call('POST', 'runs/restore', { run_id: runId });
    expect(
      (await call('POST', 'runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1 })).status,
    ).toBe(200);
  });

  it('answers an unknown run with 404 and a bad status with 400', async () => {
    expect(await call('GET', 'runs/get?run_id=0123456789abcdef')).toMatchObject({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
    });
    expect(
      (await call('POST', 'runs/log-parameter', { run_id: 'nope1234', key: 'a', value: 'b' })).status,
    ).toBe(404);
    const { runId } = await newRun();
    expect((await call('POST', 'runs/update', { run_id: runId, status: 'DONE' })).status).toBe(400);
    expect((await call('POST', 'runs/create', { experiment_id: '99999' })).status).toBe(404);
  });

  it('keeps params immutable: the same value again is fine, a new value is INVALID_PARAMETER_VALUE', async () => {
    const { runId } = await newRun();
    expect(
      (await call('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' })).status,
    ).toBe(200);
    expect(
      (await call('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' })).status,
    ).toBe(200);
    const changed = await call('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.2' });
    expect(changed).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(changed.body.message).toContain("key='lr'");
    const long = await call('POST', 'runs/log-parameter', {
      run_id: runId,
      key: 'big',
      value: 'x'.repeat(6001),
    });
    expect(long.body.message).toContain('6000');
    expect(
      (await call('POST', 'runs/log-parameter', { run_id: runId, key: 'ok', value: 'x'.repeat(6000) }))
        .status,
    ).toBe(200);
  });

  it('shows as latest the point with the greatest (step, timestamp, value), not the last written', async () => {
    const { runId } = await newRun();
    await call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [
        { key: 'loss', value: 0.9, timestamp: 100, step: 5 },
        { key: 'loss', value: 0.1, timestamp: 999, step: 4 },
        { key: 'loss', value: 0.7, timestamp: 100, step: 5 },
      ],
    });
    await call('POST', 'runs/log-metric', {
      run_id: runId,
      key: 'loss',
      value: 0.05,
      timestamp: 50,
      step: 5,
    });
    const run = (await call('GET', `runs/get?run_id=${runId}`)).body.run;
    expect(run.data.metrics).toEqual([{ key: 'loss', value: 0.9, timestamp: 100, step: 5 }]);
    const history = (await call('GET', `metrics/get-history?run_id=${runId}&metric_key=loss`)).body.metrics;
    expect(history).toHaveLength(4);
  });

  it('writes nothing from a bad batch and takes retried points once', async () => {
    const { runId } = await newRun();
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, timestamp: i, step: i }));
    const over = await call('POST', 'runs/log-batch', { run_id: runId, metrics: tooMany });
    expect(over.status).toBe(400);
    expect(over.body.message).toContain('at most 1000 metrics');
    const badKey = await call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'good', value: 1, timestamp: 1 }],
      params: [{ key: '../escape', value: '1' }],
    });
    expect(badKey).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    const dup = await call('POST', 'runs/log-batch', {
      run_id: runId,
      params: [
        { key: 'a', value: '1' },
        { key: 'a', value: '2' },
      ],
    });
    expect(dup.body.message).toContain('Duplicate parameter keys');
    expect((await call('GET', `runs/get?run_id=${runId}`)).body.run.data).toEqual({
      metrics: [],
      params: [],
      tags: expect.any(Array),
    });
    const batch = {
      run_id: runId,
      metrics: [{ key: 'acc', value: 0.5, timestamp: 10, step: 1 }],
      tags: [
        { key: 't', value: 'a' },
        { key: 't', value: 'b' },
      ],
    };
    await call('POST', 'runs/log-batch', batch);
    await call('POST', 'runs/log-batch', batch);
    expect(
      (await call('GET', `metrics/get-history?run_id=${runId}&metric_key=acc`)).body.metrics,
    ).toHaveLength(1);
    expect((await call('GET', `runs/get?run_id=${runId}`)).body.run.data.tags).toContainEqual({
      key: 't',
      value: 'b',
    });
  });

  it('sets and deletes tags, and logs dataset inputs once', async () => {
    const { runId } = await newRun();
    await call('POST', 'runs/set-tag', { run_id: runId, key: 'stage', value: 'dev' });
    await call('POST', 'runs/set-tag', { run_id: runId, key: 'stage', value: 'prod' });
    expect((await call('GET', `runs/get?run_id=${runId}`)).body.run.data.tags).toContainEqual({
      key: 'stage',
      value: 'prod',
    });
    expect((await call('POST', 'runs/delete-tag', { run_id: runId, key: 'stage' })).status).toBe(200);
    expect((await call('POST', 'runs/delete-tag', { run_id: runId, key: 'stage' })).status).toBe(404);
    const datasets = [
      {
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: { name: 'churn', digest: 'd1', source_type: 'local', source: 's3://x' },
      },
    ];
    await call('POST', 'runs/log-inputs', { run_id: runId, datasets });
    await call('POST', 'runs/log-inputs', { run_id: runId, datasets });
    const inputs = (await call('GET', `runs/get?run_id=${runId}`)).body.run.inputs.dataset_inputs;
    expect(inputs).toHaveLength(1);
    expect(inputs[0].dataset).toMatchObject({ name: 'churn', digest: 'd1' });
  });

  it('pages metric history with an opaque token', async () => {
    const { runId } = await newRun();
    const metrics = Array.from({ length: 30 }, (_, i) => ({
      key: 'x',
      value: i,
      timestamp: 1000 + i,
      step: i,
    }));
    await call('POST', 'runs/log-batch', { run_id: runId, metrics });
    const first = (await call('GET', `metrics/get-history?run_id=${runId}&metric_key=x&max_results=20`)).body;
    expect(first.metrics.map((m: any) => m.step)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const second = (
      await call(
        'GET',
        `metrics/get-history?run_id=${runId}&metric_key=x&max_results=20&page_token=${first.next_page_token}`,
      )
    ).body;
    expect(second.metrics.map((m: any) => m.step)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
    expect(second.next_page_token).toBeUndefined();
  });
});

describe('runs/search', () => {
  it('filters, orders and pages runs of several experiments', async () => {
    const a = await newRun(unique('sa'), 1_000);
    const expB = await call('POST', 'experiments/create', { name: unique('sb') });
    const ids: string[] = [a.runId];
    for (let i = 1; i <= 5; i++) {
      const r = await call('POST', 'runs/create', {
        experiment_id: i % 2 ? a.experimentId : expB.body.experiment_id,
        start_time: 1_000 + i,
      });
      ids.push(r.body.run.info.run_id);
    }
    for (const [i, id] of ids.entries()) {
      await call('POST', 'runs/log-batch', {
        run_id: id,
        metrics: [{ key: 'auc', value: [0.5, 0.9, 0.7, 0.95, 0.6, 0.8][i], timestamp: 1 }],
        params: [{ key: 'model', value: i % 2 ? 'gbdt' : 'logistic' }],
      });
    }
    const exps = [a.experimentId, expB.body.experiment_id];
    const all = await call('POST', 'runs/search', { experiment_ids: exps });
    expect(all.body.runs.map((r: any) => r.info.run_id)).toEqual([...ids].reverse());
    const filtered = await call('POST', 'runs/search', {
      experiment_ids: exps,
      filter: "metrics.auc >= 0.8 AND params.model = 'gbdt'",
    });
    expect(filtered.body.runs.map((r: any) => r.info.run_id)).toEqual([ids[5], ids[3], ids[1]]);
    const ordered = await call('POST', 'runs/search', {
      experiment_ids: exps,
      order_by: ['metrics.auc DESC'],
      max_results: 2,
    });
    expect(ordered.body.runs.map((r: any) => r.info.run_id)).toEqual([ids[3], ids[1]]);
    const next = await call('POST', 'runs/search', {
      experiment_ids: exps,
      order_by: ['metrics.auc DESC'],
      max_results: 2,
      page_token: ordered.body.next_page_token,
    });
    expect(next.body.runs.map((r: any) => r.info.run_id)).toEqual([ids[5], ids[2]]);
    const p1 = await call('POST', 'runs/search', { experiment_ids: exps, max_results: 4 });
    const p2 = await call('POST', 'runs/search', {
      experiment_ids: exps,
      max_results: 4,
      page_token: p1.body.next_page_token,
    });
    expect([...p1.body.runs, ...p2.body.runs].map((r: any) => r.info.run_id)).toEqual([...ids].reverse());
  });

  it('answers a malformed filter, a foreign page token and a bad max_results with 400', async () => {
    const bad = await call('POST', 'runs/search', { experiment_ids: ['0'], filter: 'metrics.auc >> 1' });
    expect(bad).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(bad.body.message).toContain('position');
    const token = Buffer.from(JSON.stringify({ v: 1, q: 'other', after: 'x' })).toString('base64url');
    expect((await call('POST', 'runs/search', { experiment_ids: ['0'], page_token: token })).status).toBe(
      400,
    );
    expect((await call('POST', 'runs/search', { experiment_ids: ['0'], max_results: 50001 })).status).toBe(
      400,
    );
  });
});

function rawRequest(method: string, path: string, body?: Buffer): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${apiUrl}${path}`,
      { method, headers: body ? { 'content-type': 'application/octet-stream' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('artifacts', () => {
  it('uploads, lists, downloads and deletes through the proxy, and artifacts/list shows the run root', async () => {
    const { runId, run } = await newRun();
    const root = run.info.artifact_uri.replace('mlflow-artifacts:/', '');
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    expect(await putArtifact(run.info.artifact_uri, 'model/model.bin', bytes)).toBe(200);
    expect(await putArtifact(run.info.artifact_uri, 'notes.txt', 'hello')).toBe(200);
    const down = await fetch(`${apiUrl}/api/2.0/mlflow-artifacts/artifacts/${root}/model/model.bin`);
    expect(Buffer.from(await down.arrayBuffer())).toEqual(bytes);
    const listed = await call('GET', `artifacts/list?run_id=${runId}`);
    expect(listed.body).toEqual({
      root_uri: run.info.artifact_uri,
      files: [
        { path: 'model', is_dir: true },
        { path: 'notes.txt', is_dir: false, file_size: 5 },
      ],
    });
    expect((await call('GET', `artifacts/list?run_id=${runId}&path=model`)).body.files).toEqual([
      { path: 'model/model.bin', is_dir: false, file_size: 5 },
    ]);
    const proxied = await call('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(root)}`);
    expect(proxied.body.files.map((f: any) => f.path)).toEqual(['model', 'notes.txt']);
    expect((await call('DELETE', `/api/2.0/mlflow-artifacts/artifacts/${root}/notes.txt`)).status).toBe(200);
    expect((await call('GET', `/api/2.0/mlflow-artifacts/artifacts/${root}/notes.txt`)).status).toBe(404);
  });

  it('refuses paths that escape the run prefix: .., encoded dots and absolute paths', async () => {
    const { runId, run } = await newRun();
    const root = run.info.artifact_uri.replace('mlflow-artifacts:/', '');
    const attempts = [
      `/api/2.0/mlflow-artifacts/artifacts/${root}/..%2F..%2F..%2Fother`,
      `/api/2.0/mlflow-artifacts/artifacts/${root}/%252e%252e/x`,
      '/api/2.0/mlflow-artifacts/artifacts/..%2Fetc/passwd',
    ];
    for (const path of attempts) {
      const res = await rawRequest('PUT', path, Buffer.from('x'));
      expect(res, path).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    }
    expect((await call('GET', `artifacts/list?run_id=${runId}&path=../../x`)).status).toBe(400);
    expect((await call('GET', `artifacts/list?run_id=${runId}&path=/etc`)).status).toBe(400);
  });

  it('presigns URLs and assembles a multipart upload (local URLs are served by the local runtime)', async () => {
    const { run } = await newRun();
    const root = run.info.artifact_uri.replace('mlflow-artifacts:/', '');
    const signed = await call('GET', `/api/2.0/mlflow-artifacts/presigned/${root}/big.bin?method=PUT`);
    expect(signed.body).toMatchObject({ method: 'PUT', expires_in: 900 });
    expect(signed.body.url).toContain(`/_local/s3/artifacts/artifacts/${root}/big.bin?`);
    const created = await call('POST', `/api/2.0/mlflow-artifacts/mpu/create/${root}/big.bin`, {
      path: `${root}/big.bin`,
      num_parts: 2,
    });
    expect(created.body.credentials.map((c: any) => c.part_number)).toEqual([1, 2]);
    const parts = [];
    for (const [i, cred] of created.body.credentials.entries()) {
      const res = await fetch(cred.url, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from(i === 0 ? 'hello ' : 'world'),
      });
      parts.push({ part_number: cred.part_number, etag: res.headers.get('etag') });
    }
    const done = await call('POST', `/api/2.0/mlflow-artifacts/mpu/complete/${root}/big.bin`, {
      upload_id: created.body.upload_id,
      parts,
    });
    expect(done.status).toBe(200);
    const download = `${apiUrl}/api/2.0/mlflow-artifacts/artifacts/${root}/big.bin`;
    expect(await (await fetch(download)).text()).toBe('hello world');
    const escaped = await call('POST', `/api/2.0/mlflow-artifacts/mpu/create/${root}/big.bin`, {
      path: '../x',
      num_parts: 1,
    });
    expect(escaped.status).toBe(400);
  });
});
