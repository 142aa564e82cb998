import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { call, classifierOnnx, putArtifact, unique } from './support';

async function runWithModel(kind: 'onnx-file' | 'mlflow-dir' | 'zipmap' | 'pickle') {
  const exp = await call('POST', 'experiments/create', { name: unique('reg') });
  const run = (await call('POST', 'runs/create', { experiment_id: exp.body.experiment_id })).body.run;
  const uri = run.info.artifact_uri as string;
  if (kind === 'onnx-file') await putArtifact(uri, 'model.onnx', classifierOnnx(false));
  if (kind === 'zipmap') await putArtifact(uri, 'model.onnx', classifierOnnx(true));
  if (kind === 'mlflow-dir') {
    await putArtifact(
      uri,
      'model/MLmodel',
      'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.15.0\n',
    );
    await putArtifact(uri, 'model/model.onnx', classifierOnnx(false));
  }
  if (kind === 'pickle') {
    await putArtifact(uri, 'model/MLmodel', 'flavors:\n  sklearn:\n    pickled_model: model.pkl\n');
    await putArtifact(uri, 'model/model.pkl', 'not onnx');
  }
  return { runId: run.info.run_id as string, uri };
}

async function readyVersion(name: string) {
  const { runId } = await runWithModel('mlflow-dir');
  const v = await call('POST', 'model-versions/create', {
    name,
    source: `runs:/${runId}/model`,
    run_id: runId,
  });
  expect(v.body.model_version.status).toBe('READY');
  return v.body.model_version.version as string;
}

async function localEvents(): Promise<any[]> {
  const file = join(dirname(inject('s3Root')), 'events', 'events.jsonl');
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('registered models', () => {
  it('creates, gets, tags, renames, searches and deletes', async () => {
    const name = unique('model');
    const created = await call('POST', 'registered-models/create', {
      name,
      description: 'd',
      tags: [{ key: 'owner', value: 'risk' }],
    });
    expect(created.body.registered_model).toMatchObject({
      name,
      description: 'd',
      tags: [{ key: 'owner', value: 'risk' }],
    });
    expect(await call('POST', 'registered-models/create', { name })).toMatchObject({
      status: 400,
      body: { error_code: 'RESOURCE_ALREADY_EXISTS' },
    });
    expect(
      (await call('PATCH', 'registered-models/update', { name, description: 'new' })).body.registered_model
        .description,
    ).toBe('new');
    await call('POST', 'registered-models/set-tag', { name, key: 'tier', value: '1' });
    await call('DELETE', 'registered-models/delete-tag', { name, key: 'owner' });
    expect((await call('GET', `registered-models/get?name=${name}`)).body.registered_model.tags).toEqual([
      { key: 'tier', value: '1' },
    ]);
    await readyVersion(name);
    const renamed = await call('POST', 'registered-models/rename', { name, new_name: `${name}-b` });
    expect(renamed.body.registered_model.latest_versions).toHaveLength(1);
    expect((await call('GET', `registered-models/get?name=${name}`)).status).toBe(404);
    const found = await call(
      'GET',
      `registered-models/search?filter=${encodeURIComponent(`name LIKE '${name}%'`)}`,
    );
    expect(found.body.registered_models.map((m: any) => m.name)).toEqual([`${name}-b`]);
    expect(
      (await call('GET', `model-versions/search?filter=${encodeURIComponent(`name = '${name}-b'`)}`)).body
        .model_versions,
    ).toHaveLength(1);
    expect((await call('DELETE', 'registered-models/delete', { name: `${name}-b` })).status).toBe(200);
    expect((await call('GET', `model-versions/get?name=${name}-b&version=1`)).status).toBe(404);
  });
});

describe('model versions', () => {
  it('become READY for an ONNX file or an MLflow ONNX model directory', async () => {
    const name = unique('ready');
    await call('POST', 'registered-models/create', { name });
    const file = await runWithModel('onnx-file');
    const v1 = await call('POST', 'model-versions/create', {
      name,
      source: `runs:/${file.runId}/model.onnx`,
    });
    expect(v1.body.model_version).toMatchObject({ version: '1', status: 'READY', current_stage: 'None' });
    const dir = await runWithModel('mlflow-dir');
    const v2 = await call('POST', 'model-versions/create', { name, source: `${dir.uri}/model` });
    expect(v2.body.model_version).toMatchObject({ version: '2', status: 'READY' });
    expect((await call('GET', `model-versions/get?name=${name}&version=2`)).body.model_version.status).toBe(
      'READY',
    );
    expect(
      (await call('GET', `model-versions/get-download-uri?name=${name}&version=2`)).body.artifact_uri,
    ).toBe(`${dir.uri}/model`);
  });

  it('end FAILED_REGISTRATION, saying how to export to ONNX, for a ZipMap output or a pickle', async () => {
    const name = unique('failed');
    await call('POST', 'registered-models/create', { name });
    const zip = await runWithModel('zipmap');
    const v = (await call('POST', 'model-versions/create', { name, source: `runs:/${zip.runId}/model.onnx` }))
      .body.model_version;
    expect(v.status).toBe('FAILED_REGISTRATION');
    expect(v.status_message).toContain('zipmap');
    const pkl = await runWithModel('pickle');
    const p = (await call('POST', 'model-versions/create', { name, source: `runs:/${pkl.runId}/model` })).body
      .model_version;
    expect(p).toMatchObject({ status: 'FAILED_REGISTRATION' });
    expect(p.status_message).toContain('mlflow.onnx.log_model');
    const promote = await call('POST', 'model-versions/transition-stage', {
      name,
      version: p.version,
      stage: 'Production',
    });
    expect(promote.status).toBe(400);
    expect(
      (await call('POST', 'model-versions/create', { name: unique('none'), source: 'runs:/x/y' })).status,
    ).toBe(404);
  });

  it('move through stages case-insensitively; Production archives the previous one and all changes are recorded and published', async () => {
    const name = unique('stages');
    await call('POST', 'registered-models/create', { name });
    const v1 = await readyVersion(name);
    const v2 = await readyVersion(name);
    const v3 = await readyVersion(name);
    expect(
      (await call('POST', 'model-versions/transition-stage', { name, version: v1, stage: 'production' })).body
        .model_version.current_stage,
    ).toBe('Production');
    await call('POST', 'model-versions/transition-stage', { name, version: v2, stage: 'Staging' });
    await call('POST', 'model-versions/transition-stage', {
      name,
      version: v3,
      stage: 'Staging',
      archive_existing_versions: true,
    });
    await call('POST', 'model-versions/transition-stage', {
      name,
      version: v3,
      stage: 'Production',
      archive_existing_versions: false,
    });
    const stages = async () =>
      Object.fromEntries(
        await Promise.all(
          [v1, v2, v3].map(async (v) => [
            v,
            (await call('GET', `model-versions/get?name=${name}&version=${v}`)).body.model_version
              .current_stage,
          ]),
        ),
      );
    expect(await stages()).toEqual({ [v1]: 'Archived', [v2]: 'Archived', [v3]: 'Production' });
    const latest = await call('POST', 'registered-models/get-latest-versions', {
      name,
      stages: ['Production'],
    });
    expect(latest.body.model_versions.map((v: any) => v.version)).toEqual([v3]);
    expect(
      (await call('POST', 'model-versions/transition-stage', { name, version: v1, stage: 'Live' })).status,
    ).toBe(400);
    const changes = (await call('GET', `/api/2.0/mlops/registered-models/changes?name=${name}`)).body.changes;
    expect(
      changes.filter((c: any) => c.kind === 'stage').map((c: any) => `${c.version}:${c.from}->${c.to}`),
    ).toEqual(
      expect.arrayContaining([
        `${v1}:None->Production`,
        `${v1}:Production->Archived`,
        `${v2}:Staging->Archived`,
        `${v3}:Staging->Production`,
      ]),
    );
    expect(changes.every((c: any) => c.user_id && c.timestamp > 0)).toBe(true);
    const published = (await localEvents()).filter((e) => e.detail.name === name);
    expect(published.every((e) => e.source === 'mlops.registry')).toBe(true);
    expect(published.filter((e) => e.detailType === 'ModelVersionStageChanged')).toHaveLength(changes.length);
  });

  it('leaves exactly one version in Production after racing transitions', async () => {
    const name = unique('race');
    await call('POST', 'registered-models/create', { name });
    const versions = await Promise.all(Array.from({ length: 6 }, () => readyVersion(name)));
    const results = await Promise.all(
      versions.map((version) =>
        call('POST', 'model-versions/transition-stage', { name, version, stage: 'Production' }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(versions.map(() => 200));
    const all = (await call('GET', `model-versions/search?filter=${encodeURIComponent(`name = '${name}'`)}`))
      .body.model_versions;
    expect(all.filter((v: any) => v.current_stage === 'Production')).toHaveLength(1);
    expect(all.filter((v: any) => v.current_stage === 'Archived')).toHaveLength(5);
  });

  it('resolve aliases, record alias changes, and refuse reserved alias names', async () => {
    const name = unique('alias');
    await call('POST', 'registered-models/create', { name });
    const v1 = await readyVersion(name);
    const v2 = await readyVersion(name);
    await call('POST', 'registered-models/alias', { name, alias: 'champion', version: v1 });
    await call('POST', 'registered-models/alias', { name, alias: 'champion', version: v2 });
    const got = await call('GET', `registered-models/alias?name=${name}&alias=champion`);
    expect(got.body.model_version).toMatchObject({ version: v2, aliases: ['champion'] });
    expect((await call('GET', `registered-models/get?name=${name}`)).body.registered_model.aliases).toEqual([
      { alias: 'champion', version: v2 },
    ]);
    expect(
      (await call('POST', 'registered-models/alias', { name, alias: 'latest', version: v1 })).status,
    ).toBe(400);
    expect((await call('POST', 'registered-models/alias', { name, alias: 'x', version: '99' })).status).toBe(
      404,
    );
    await call('DELETE', 'registered-models/alias', { name, alias: 'champion' });
    expect((await call('GET', `registered-models/alias?name=${name}&alias=champion`)).status).toBe(404);
    const changes = (
      await call('GET', `/api/2.0/mlops/registered-models/changes?name=${name}`)
    ).body.changes.filter((c: any) => c.kind === 'alias');
    expect(changes.map((c: any) => `${c.from}->${c.to}`)).toEqual([`->${v1}`, `${v1}->${v2}`, `${v2}->`]);
    const events = (await localEvents()).filter(
      (e) => e.detailType === 'ModelAliasChanged' && e.detail.name === name,
    );
    expect(events).toHaveLength(3);
  });

  it('tags, updates and deletes versions', async () => {
    const name = unique('vt');
    await call('POST', 'registered-models/create', { name });
    const v = await readyVersion(name);
    await call('POST', 'model-versions/set-tag', { name, version: v, key: 'validated', value: 'yes' });
    const updated = await call('PATCH', 'model-versions/update', { name, version: v, description: 'best' });
    expect(updated.body.model_version).toMatchObject({
      description: 'best',
      tags: [{ key: 'validated', value: 'yes' }],
    });
    await call('DELETE', 'model-versions/delete-tag', { name, version: v, key: 'validated' });
    expect((await call('DELETE', 'model-versions/delete', { name, version: v })).status).toBe(200);
    expect((await call('GET', `model-versions/get?name=${name}&version=${v}`)).status).toBe(404);
    expect((await call('GET', `model-versions/get?name=${name}&version=abc`)).status).toBe(400);
  });
});
