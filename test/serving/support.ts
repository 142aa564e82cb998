import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll } from 'vitest';
import type { ModelSignature } from '../../lambdas/serving/inference/signature';
import type { DynamoRegistryStore } from '../../lambdas/tracking/store/dynamo-registry-store';
import { type Dataset, datasetOf } from '../../lambdas/training/data/dataset';
import { createRng } from '../../lambdas/training/random';
import { builtInSignature, fitModel } from '../../lambdas/training/trained-model';
import { prepareTraining } from '../../lambdas/training/trial/prepare';
import type { LocalRuntime } from '../../local/runtime';
import { classifierOnnx } from '../support/onnx-fixtures';

export interface TinyModel {
  readonly onnx: Uint8Array;
  readonly signature: ModelSignature;
  /** Rows to score, as JSON records of the signature's features (gaps included). */
  readonly rows: Record<string, number | string | null>[];
}

/**
 * Trains a built-in model on `dataset` (label `y`, time column `t`, every other column a
 * feature) as a training run does, and returns its ONNX export and signature.
 */
export function trainOnnx(
  dataset: Dataset,
  algorithm: 'gbdt' | 'logistic',
  options?: Record<string, string | number>,
): { onnx: Uint8Array; signature: ModelSignature } {
  const prep = prepareTraining({
    dataset,
    label: 'y',
    algorithm,
    timeColumn: 't',
    ...(options ? { options } : {}),
  });
  const model = fitModel(
    prep.parsed,
    prep.task,
    prep.features,
    prep.train.X,
    prep.train.y,
    undefined,
    () => {},
  );
  return { onnx: model.exportOnnx(), signature: builtInSignature(prep.features, prep.task) };
}

/**
 * Trains a small model with the built-in trainers on a numeric feature with gaps and a
 * categorical one, so feeding either wrongly changes the predictions.
 */
export function trainTiny(algorithm: 'gbdt' | 'logistic', seed = 7): TinyModel {
  const rng = createRng(seed);
  const n = 400;
  const spend = new Float64Array(n);
  const plan: (string | null)[] = [];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = rng.normal() * 10 + 50;
    const p = ['basic', 'pro', 'team'][rng.int(3)]!;
    spend[i] = rng.next() < 0.1 ? Number.NaN : s;
    plan.push(p);
    y[i] = rng.next() < 1 / (1 + Math.exp(-(0.2 * (s - 50) + (p === 'pro' ? 1.5 : -0.5)))) ? 1 : 0;
  }
  const { onnx, signature } = trainOnnx(
    datasetOf({ spend, plan, t: Float64Array.from({ length: n }, (_, i) => i), y }),
    algorithm,
    algorithm === 'gbdt' ? { maxIterations: 20, earlyStopping: 'false' } : undefined,
  );
  const rows = [
    { spend: 35, plan: 'basic' },
    { spend: 62.5, plan: 'pro' },
    { spend: null, plan: 'team' },
    { spend: 50, plan: 'unseen-plan' },
    { spend: 71, plan: 'pro' },
  ].map((r) =>
    Object.fromEntries(
      signature.inputs.map((i) => [i.name, (r as Record<string, number | string | null>)[i.name] ?? null]),
    ),
  );
  return { onnx, signature, rows };
}

/** A bring-your-own model: a scikit-learn-style linear classifier over one packed float tensor. */
export function byoModel(): TinyModel {
  return {
    onnx: classifierOnnx(false),
    signature: {
      tensorInput: { name: 'float_input', elementType: 'float' },
      inputs: [
        { name: 'x1', type: 'float' },
        { name: 'x2', type: 'float' },
      ],
      outputs: [
        { name: 'probability_tensor', meaning: 'probability' },
        { name: 'label', meaning: 'label' },
      ],
    },
    rows: [
      { x1: 0.5, x2: -1 },
      { x1: 2, x2: 3 },
      { x1: -1.25, x2: 0.75 },
    ],
  };
}

/** Calls a proxy handler as API Gateway would for a route. */
export async function invoke(
  handler: (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>,
  method: string,
  resource: string,
  params: Record<string, string>,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
): Promise<{ status: number; json: any; headers: Record<string, unknown> }> {
  let path = resource;
  for (const [k, v] of Object.entries(params)) path = path.replace(`{${k}}`, encodeURIComponent(v));
  const raw = body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body);
  const event = {
    httpMethod: method,
    resource,
    path,
    pathParameters: params,
    headers: raw === null ? { host: 'localhost' } : { 'content-type': 'application/json', host: 'localhost' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    body: raw,
    isBase64Encoded: false,
    requestContext: { requestId: `req-${Math.random().toString(36).slice(2)}` },
  } as unknown as APIGatewayProxyEvent;
  const res = await handler(event, {} as Context);
  return {
    status: res.statusCode,
    json: res.body ? JSON.parse(res.body) : undefined,
    headers: { ...res.headers },
  };
}

/** A local runtime serving one model of a suite: what {@link useServingRuntime} sets up. */
export interface ServingRuntime {
  /** The served model (`<prefix>-<time>`), registered in the registry before the suite's own hooks run. */
  readonly name: string;
  /** The suite's temporary folder; the runtime's data is under `<dir>/data`. */
  readonly dir: string;
  readonly dataDir: string;
  readonly runtime: LocalRuntime;
  /** The registry's table, read and written directly. */
  readonly registry: DynamoRegistryStore;
  /** Lambda's API of the runtime (versions, the `live` alias). */
  readonly lambda: LambdaClient;
  /** The template's deployment state machine and serving function (logical ids). */
  readonly deploymentMachine: string;
  readonly servingFunction: string;
  /** The MLflow experiment the suite's runs are created in. */
  readonly experimentId: string;
  /** Calls the gateway: a path starting with `/` as is, else an MLflow REST method. */
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Uploads an artifact under a run's artifact URI (`mlflow-artifacts:/...`) or root. */
  putArtifact(artifactUri: string, path: string, body: Uint8Array | string): Promise<void>;
  /**
   * A run whose `model/` holds the ONNX file, signature and MLmodel (as the pipeline logs
   * them), with any further artifacts, tags and metrics; returns the run id.
   */
  logModel(
    model: Pick<TinyModel, 'signature'> & { onnx: Uint8Array | string },
    extras?: RunExtras,
  ): Promise<string>;
  /** Logs a model and registers it as a version of {@link name} (READY); returns the version. */
  register(
    model: Pick<TinyModel, 'signature'> & { onnx: Uint8Array | string },
    extras?: RunExtras,
  ): Promise<string>;
  /** The serving function's `live` alias: its version and additional weights. */
  alias(): Promise<{ version: string | undefined; weights: Record<string, number> }>;
  /** Polls the served model's ready route until it answers 200 (a version just moved to Production loads first). */
  waitReady(): Promise<void>;
}

/** More for a logged model's run. */
export interface RunExtras {
  /** Artifacts by path under the run's root (`profile/baseline_profile.json`). */
  readonly files?: Readonly<Record<string, Uint8Array | string>>;
  readonly tags?: Readonly<Record<string, string>>;
  readonly metrics?: Readonly<Record<string, number>>;
}

/**
 * Starts the platform's template on the local runtime for a suite, serving a model of its
 * own (`serving.modelName`), with that model and an experiment created; stops it and
 * removes its data after the suite. Call at the top level of a test file: the runtime
 * starts in a `beforeAll` registered before the suite's own.
 *
 * @example
 * const s = useServingRuntime({ prefix: 'deploy', config: { serving: { autoDeploy: 'staging-winners' } } });
 * it('serves', async () => { const v = await s.register(trainTiny('gbdt')); ... });
 */
export function useServingRuntime(options: {
  readonly prefix: string;
  /** Platform configuration; `serving.modelName` is set to the suite's model. */
  readonly config?: Record<string, unknown> & { serving?: Record<string, unknown> };
  readonly alarmTimeScale?: number;
  /** The runtime's start (synthesis, bundling) takes minutes on a loaded 2-core machine. @default 600 s */
  readonly timeoutMs?: number;
}): ServingRuntime {
  const name = `${options.prefix}-${Date.now().toString(36)}`;
  const s = { name } as { -readonly [K in keyof ServingRuntime]: ServingRuntime[K] };
  s.call = async (method, path, body) => {
    const url = path.startsWith('/') ? `${s.runtime.url}${path}` : `${s.runtime.url}/api/2.0/mlflow/${path}`;
    const res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : {} };
  };
  s.putArtifact = async (artifactUri, path, body) => {
    const root = artifactUri.replace(/^mlflow-artifacts:\//, '');
    const res = await fetch(`${s.runtime.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    if (res.status !== 200) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
  };
  s.logModel = async (model, extras = {}) => {
    const run = (await s.call('POST', 'runs/create', { experiment_id: s.experimentId })).json.run;
    const runId = run.info.run_id as string;
    const uri = String(run.info.artifact_uri);
    await s.putArtifact(uri, 'model/model.onnx', model.onnx);
    await s.putArtifact(uri, 'model/signature.json', JSON.stringify(model.signature));
    await s.putArtifact(uri, 'model/MLmodel', 'flavors:\n  onnx:\n    data: model.onnx\n');
    for (const [path, body] of Object.entries(extras.files ?? {})) await s.putArtifact(uri, path, body);
    for (const [key, value] of Object.entries(extras.tags ?? {})) {
      await expectOk(s.call('POST', 'runs/set-tag', { run_id: runId, key, value }));
    }
    for (const [key, value] of Object.entries(extras.metrics ?? {})) {
      const at = { timestamp: Date.now(), step: 0 };
      await expectOk(s.call('POST', 'runs/log-metric', { run_id: runId, key, value, ...at }));
    }
    return runId;
  };
  s.register = async (model, extras) => {
    const runId = await s.logModel(model, extras);
    const v = await s.call('POST', 'model-versions/create', {
      name,
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    if (v.json.model_version?.status !== 'READY')
      throw new Error(`version not READY: ${JSON.stringify(v.json)}`);
    return v.json.model_version.version as string;
  };
  s.alias = async () => {
    const { GetAliasCommand } = await import('@aws-sdk/client-lambda');
    const a = await s.lambda.send(new GetAliasCommand({ FunctionName: s.servingFunction, Name: 'live' }));
    return { version: a.FunctionVersion, weights: { ...(a.RoutingConfig?.AdditionalVersionWeights ?? {}) } };
  };
  s.waitReady = async () => {
    let ready = await s.call('GET', `/v2/models/${name}/ready`);
    for (let i = 0; i < 120 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      ready = await s.call('GET', `/v2/models/${name}/ready`);
    }
    if (ready.status !== 200) throw new Error(`${name} never became ready: ${JSON.stringify(ready.json)}`);
  };

  beforeAll(async () => {
    // Loaded here, not at import: the suites that only train tiny models do not pay for them.
    const { startLocalRuntime } = await import('../../local/runtime');
    const { localDynamoClients } = await import('../../local/engines/dynamodb');
    const { LambdaClient } = await import('@aws-sdk/client-lambda');
    const { DynamoRegistryStore } = await import('../../lambdas/tracking/store/dynamo-registry-store');
    s.dir = mkdtempSync(join(tmpdir(), `mlops-${options.prefix}-`));
    s.dataDir = join(s.dir, 'data');
    s.runtime = await startLocalRuntime({
      port: 0,
      dataDir: s.dataDir,
      inMemory: true,
      config: { ...options.config, serving: { ...options.config?.serving, modelName: name } },
      ...(options.alarmTimeScale !== undefined ? { alarmTimeScale: options.alarmTimeScale } : {}),
    });
    s.registry = new DynamoRegistryStore(localDynamoClients(s.runtime.dynamodbEndpoint).doc, 'tracking');
    s.lambda = new LambdaClient({
      endpoint: s.runtime.env.AWS_ENDPOINT_URL_LAMBDA,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    s.deploymentMachine =
      [...s.runtime.stepFunctions.machines.keys()].find((k) => k.includes('ServingDeployment')) ?? '';
    s.servingFunction =
      s.runtime.plan.aliases.find((a) => a.name === 'live' && a.functionId.includes('Serving'))?.functionId ??
      '';
    if (!s.deploymentMachine || !s.servingFunction) {
      throw new Error('the template has no serving deployment state machine or live alias');
    }
    await expectOk(s.call('POST', 'registered-models/create', { name }));
    s.experimentId = (
      await expectOk(s.call('POST', 'experiments/create', { name: `${name}-exp` }))
    ).json.experiment_id;
  }, options.timeoutMs ?? 600_000);

  afterAll(async () => {
    s.lambda?.destroy();
    await s.runtime?.stop();
    if (s.dir) rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
async function expectOk(res: Promise<{ status: number; json: any }>) {
  const r = await res;
  if (r.status !== 200) throw new Error(`${r.status}: ${JSON.stringify(r.json)}`);
  return r;
}
