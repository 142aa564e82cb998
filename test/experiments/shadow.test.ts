import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShadowPairsFile } from '../../lambdas/experiments/shadow/pairs';
import { rowsToDataset } from '../../lambdas/serving/domain/rows';
import { scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import { ENTRY_METADATA } from '../../lib/private/local-metadata';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { synthTemplate } from '../../local/synth';
import { type TinyModel, trainTiny } from '../serving/support';

// The platform as synthesized, serving this suite's model, with the shadow scorer made two
// seconds slower per batch: nothing of it may reach a predict response.
const NAME = `shadowed-${Date.now().toString(36)}`;
let runtime: LocalRuntime;
let dataDir: string;
let live: TinyModel;
let shadow: TinyModel;

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const url = path.startsWith('/') ? `${runtime.url}${path}` : `${runtime.url}/api/2.0/mlflow/${path}`;
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

async function register(model: { onnx: Uint8Array | string; signature: unknown }): Promise<string> {
  const exp = await call('POST', 'experiments/create', {
    name: `${NAME}-${Math.random().toString(36).slice(2)}`,
  });
  const run = (await call('POST', 'runs/create', { experiment_id: exp.json.experiment_id })).json.run;
  const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
  for (const [path, body] of [
    ['model/model.onnx', model.onnx],
    ['model/signature.json', JSON.stringify(model.signature)],
    ['model/MLmodel', 'flavors:\n  onnx:\n    data: model.onnx\n'],
  ] as const) {
    const res = await fetch(`${runtime.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(200);
  }
  const v = await call('POST', 'model-versions/create', {
    name: NAME,
    source: `runs:/${run.info.run_id}/model`,
    run_id: run.info.run_id,
  });
  return v.json.model_version.version as string;
}

/** Every stored pair of a shadow version, by request id. */
function storedPairs(version: string): Map<string, ShadowPairsFile['pairs'][number][]> {
  const dir = join(
    dataDir,
    's3',
    'monitoring',
    'shadow',
    'pairs',
    `model=${NAME}`,
    `shadow_version=${version}`,
  );
  const out = new Map<string, ShadowPairsFile['pairs'][number][]>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.json')) continue;
    const file = JSON.parse(readFileSync(join(dir, f), 'utf8')) as ShadowPairsFile;
    for (const p of file.pairs) out.set(p.request_id, [...(out.get(p.request_id) ?? []), p]);
  }
  return out;
}

const predict = () => call('POST', `/v1/models/${NAME}/predict`, { instances: live.rows });
/** A response without its request id, which differs per request by design. */
const body = (r: { json: Record<string, unknown> }) => ({ ...r.json, request_id: undefined });

beforeAll(async () => {
  const template = synthTemplate({ stage: 'local', serving: { modelName: NAME } });
  const scorer = Object.values(template.Resources).find(
    (r) => r.Metadata?.[ENTRY_METADATA] === 'lambdas/experiments/shadow/scorer-handler.ts',
  );
  if (!scorer?.Metadata) throw new Error('the template has no shadow scorer');
  scorer.Metadata[ENTRY_METADATA] = 'test/experiments/shadow-slow-scorer.ts';
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-shadow-'));
  runtime = await startLocalRuntime({ port: 0, dataDir, inMemory: true, template });
  live = trainTiny('gbdt', 11);
  shadow = trainTiny('logistic', 5);
  await call('POST', 'registered-models/create', { name: NAME });
  expect(await register(live)).toBe('1');
  expect(await register(shadow)).toBe('2');
  // A version whose file is no model: the shadow that throws.
  expect(await register({ onnx: 'not an onnx file', signature: shadow.signature })).toBe('3');
  await call('POST', 'model-versions/transition-stage', { name: NAME, version: '1', stage: 'Production' });
  let ready = await call('GET', `/v2/models/${NAME}/ready`);
  for (let i = 0; i < 80 && ready.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 250));
    ready = await call('GET', `/v2/models/${NAME}/ready`);
  }
  expect(ready.status).toBe(200);
}, 600_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('shadow mode on the local runtime', () => {
  let baseline: { status: number; json: Record<string, unknown> };

  it('answers 404 for a model without a shadow and for a version that is not registered', async () => {
    baseline = await predict();
    expect(baseline.status).toBe(200);
    const none = await call('GET', `/v1/models/${NAME}/shadow`);
    expect(none.status).toBe(404);
    const unknown = await call('POST', `/v1/models/${NAME}/shadow`, { version: '99' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toContain('register it');
    const bad = await call('POST', `/v1/models/${NAME}/shadow`, { version: '2', sample_rate: 2 });
    expect(bad.status).toBe(400);
  });

  it('never changes a response, and stores pairs only after the response, equal to the shadow’s own output', async () => {
    const set = await call('POST', `/v1/models/${NAME}/shadow`, { version: '2' });
    expect(set.status).toBe(200);
    expect(set.json.shadow).toMatchObject({ model: NAME, version: '2', sample_rate: 1 });
    // The scorer reads its configuration with a short cache: wait it out, so this request is shadowed.
    await new Promise((r) => setTimeout(r, 10_500));
    const res = await predict();
    expect(res.status).toBe(200);
    expect(body(res)).toEqual(body(baseline));
    const requestId = res.json.request_id as string;
    // The response is back; the shadow has not scored it yet (it runs later, elsewhere).
    expect(storedPairs('2').has(requestId)).toBe(false);
    await runtime.logSubscriptions.flush();
    const pairs = storedPairs('2').get(requestId) ?? [];
    const own = Array.from(
      await scoreOnnx(shadow.onnx, shadow.signature, rowsToDataset(shadow.signature, live.rows)),
    );
    expect(pairs.map((p) => p.shadow_prediction)).toEqual(own);
    expect(pairs.map((p) => p.live_prediction)).toEqual(res.json.predictions);
    expect(pairs.every((p) => p.live_version === '1' && p.shadow_version === '2')).toBe(true);

    const report = await call('GET', `/v1/models/${NAME}/shadow/report`);
    expect(report.status).toBe(200);
    expect(report.json).toMatchObject({
      model: NAME,
      shadow_version: '2',
      task: 'classification',
      shadow_errors: 0,
    });
    expect(report.json.rows).toBeGreaterThanOrEqual(live.rows.length);
    const diffs = pairs.map((p) => Math.abs(p.live_prediction - (p.shadow_prediction as number)));
    expect(report.json.max_abs_diff).toBeCloseTo(Math.max(...diffs), 12);
  }, 120_000);

  it('never changes a response when the shadow version throws, and reports its failures', async () => {
    expect((await call('POST', `/v1/models/${NAME}/shadow`, { version: '3' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 10_500));
    const res = await predict();
    expect(res.status).toBe(200);
    expect(body(res)).toEqual(body(baseline));
    await runtime.logSubscriptions.flush();
    const pairs = storedPairs('3').get(res.json.request_id as string) ?? [];
    expect(pairs).toHaveLength(live.rows.length);
    expect(pairs.every((p) => p.shadow_prediction === null && p.shadow_error?.includes('did not load'))).toBe(
      true,
    );
    const report = await call('GET', `/v1/models/${NAME}/shadow/report`);
    expect(report.json).toMatchObject({ shadow_version: '3', scored: 0, divergence: { divergent: true } });

    const deleted = await call('DELETE', `/v1/models/${NAME}/shadow`);
    expect(deleted.json).toEqual({ model: NAME, deleted: true });
    // The pairs stay: a past shadow is reported by naming its version.
    const past = await call('GET', `/v1/models/${NAME}/shadow/report?version=2`);
    expect(past.json.shadow_version).toBe('2');
    expect(past.json.scored).toBeGreaterThan(0);
  }, 120_000);
});
