import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetAliasCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PredictionIndex } from '../../lambdas/monitoring/labels/prediction-index';
import { DynamoRegistryStore } from '../../lambdas/tracking/store/dynamo-registry-store';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { type TinyModel, trainTiny } from '../serving/support';

// The platform's template, run locally: serving, its deployment workflow, the log shipper,
// the prediction index, the labels route, the performance job and the severe alarm.
const NAME = `severe-${Date.now().toString(36)}`;
let runtime: LocalRuntime;
let dataDir: string;
let registry: DynamoRegistryStore;
let index: PredictionIndex;
let lambdaClient: LambdaClient;
let experimentId: string;

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

async function putArtifact(root: string, path: string, body: Uint8Array | string) {
  const res = await fetch(`${runtime.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
  expect(res.status).toBe(200);
}

/** Registers a version whose run carries the test AUC the pipeline would have logged. */
async function register(model: TinyModel, testAuc: number): Promise<string> {
  const run = (await call('POST', 'runs/create', { experiment_id: experimentId })).json.run;
  const root = String(run.info.artifact_uri).replace(/^mlflow-artifacts:\//, '');
  await putArtifact(root, 'model/model.onnx', model.onnx);
  await putArtifact(root, 'model/signature.json', JSON.stringify(model.signature));
  await putArtifact(root, 'model/MLmodel', 'flavors:\n  onnx:\n    data: model.onnx\n');
  const logged = await call('POST', 'runs/log-metric', {
    run_id: run.info.run_id,
    key: 'test_auc',
    value: testAuc,
    timestamp: Date.now(),
    step: 0,
  });
  expect(logged.status).toBe(200);
  const v = await call('POST', 'model-versions/create', {
    name: NAME,
    source: `runs:/${run.info.run_id}/model`,
    run_id: run.info.run_id,
  });
  expect(v.json.model_version.status).toBe('READY');
  return v.json.model_version.version as string;
}

const fnOf = (entry: string) =>
  [...runtime.plan.functions.values()].find((f) => f.entry === entry)?.logicalId ?? '';

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-severe-'));
  runtime = await startLocalRuntime({
    port: 0,
    dataDir,
    inMemory: true,
    // The performance alarm's hour is 10 s here; the canary's minute a sixth of a second.
    alarmTimeScale: 1 / 360,
    config: { serving: { modelName: NAME } },
  });
  const { doc } = localDynamoClients(runtime.dynamodbEndpoint);
  registry = new DynamoRegistryStore(doc, 'tracking');
  index = new PredictionIndex(doc, 'prediction-index');
  lambdaClient = new LambdaClient({
    endpoint: runtime.env.AWS_ENDPOINT_URL_LAMBDA,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await call('POST', 'registered-models/create', { name: NAME });
  experimentId = (await call('POST', 'experiments/create', { name: `${NAME}-exp` })).json.experiment_id;
}, 180_000);

afterAll(async () => {
  lambdaClient?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the severe alarm', () => {
  it('rolls the live alias back when the serving version predicts far worse than at training, and records why', async () => {
    const machine =
      [...runtime.stepFunctions.machines.keys()].find((k) => k.includes('ServingDeployment')) ?? '';
    const servingFn =
      runtime.plan.aliases.find((a) => a.name === 'live' && a.functionId.includes('Serving'))?.functionId ??
      '';
    const severe = runtime.alarms.composites.find((c) => c.logicalId.includes('PerformanceSevere'));
    expect(severe?.ruleText).toMatch(/ErrorRate.*OR.*PerformanceDrop.*AND \(NOT \(ALARM\(.*Drift/);
    const alias = async () =>
      (await lambdaClient.send(new GetAliasCommand({ FunctionName: servingFn, Name: 'live' })))
        .FunctionVersion;

    // Version 1 in Production (what the template's version serves); version 2 canary-deployed to 100%.
    const v1 = await register(trainTiny('gbdt', 5), 0.9);
    await call('POST', 'model-versions/transition-stage', { name: NAME, version: v1, stage: 'Production' });
    const previous = await alias();
    const model = trainTiny('logistic', 9);
    const v2 = await register(model, 0.95);
    const deployed = await runtime.stepFunctions.run(machine, {
      name: `deploy-${NAME}-${v2}-${Date.now()}`,
      input: { request: { model: NAME, version: v2, steps: [100], bakeSeconds: 0 } },
    });
    expect(deployed.status, JSON.stringify(deployed.error)).toBe('SUCCEEDED');
    const live = await alias();
    expect(live).not.toBe(previous);

    // Traffic on version 2; the log shipper fills the prediction index from the prediction log.
    const answers: { request_id: string; predictions: number[] }[] = [];
    for (let i = 0; i < 24; i++) {
      const res = await call('POST', `/v1/models/${NAME}/predict`, { instances: model.rows });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.model_version).toBe(v2);
      answers.push(res.json);
    }
    const ids = answers.map((a) => a.request_id);
    await until('the prediction index to hold every request', async () =>
      (await index.requests(ids)).size === ids.length ? true : undefined,
    );

    // The outcomes, days later: the opposite of what version 2 predicted.
    const labelled = await call('POST', '/v1/labels', {
      labels: answers.map((a) => ({
        request_id: a.request_id,
        label: a.predictions.map((p) => (p >= 0.5 ? 0 : 1)),
      })),
    });
    expect(labelled).toEqual({ status: 200, json: { received: 24, written: 24, unchanged: 0 } });

    // The scheduled job (invoked as its EventBridge rule would): AUC far below the test AUC of 0.95.
    const report = (await runtime.host.invoke(fnOf('lambdas/monitoring/performance/job-handler.ts'), {
      minLabels: 50,
    })) as {
      versions: { version: string; labelledRows: number; drop: number | null }[];
      servingVersion: string;
    };
    expect(report.servingVersion).toBe(v2);
    const scored = report.versions.find((v) => v.version === v2);
    expect(scored?.labelledRows).toBe(24 * model.rows.length);
    expect(scored?.drop).toBeGreaterThan(0.1);

    // PerformanceDrop → the composite → its Lambda action → serving's rollback.
    const tags = await until('the rollback to be recorded', async () => {
      const t = (await registry.getVersion(NAME, v2))?.tags ?? {};
      return t['mlops.deployment.status'] === 'rolled_back' ? t : undefined;
    });
    expect(await alias()).toBe(previous);
    expect(tags['mlops.deployment.rolled_back_by']).toBe(severe?.name);
    expect(tags['mlops.deployment.rollback_reason']).toMatch(
      new RegExp(
        `^severe alarm ${severe?.name}: AlarmRule true: .*PerformanceDrop.* is ALARM \\(Threshold Crossed`,
      ),
    );
    const status = (await call('GET', `/v1/deployments/${NAME}`)).json;
    expect(status.live.lambda_version).toBe(previous);
  }, 300_000);
});
