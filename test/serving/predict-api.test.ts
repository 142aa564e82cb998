import { Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parsePredictionLine } from '../../lambdas/monitoring/log/parse';
import { awsClients } from '../../lambdas/platform/aws-clients';
import { httpApi } from '../../lambdas/platform/http/router';
import { logger } from '../../lambdas/platform/observability';
import { servingBindings } from '../../lambdas/serving/api/bindings';
import { PredictionLog } from '../../lambdas/serving/domain/prediction-log';
import { rowsToDataset } from '../../lambdas/serving/domain/rows';
import { loadServedModel, ModelHost, type ModelPin } from '../../lambdas/serving/domain/served-model';
import { buildFeeds, scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import { createOnnxScorer, type Scorer } from '../../lambdas/serving/inference/session';
import { LocalArtifactSigner } from '../../lambdas/tracking/artifacts/local-signer';
import { DynamoRegistryStore } from '../../lambdas/tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../../lambdas/tracking/store/dynamo-tracking-store';
import { call, putArtifact, unique } from '../tracking/support';
import { byoModel, invoke, type TinyModel, trainTiny } from './support';

/** Logs a run with the model as the pipeline does (model/ with signature.json) and registers it. */
async function register(
  model: TinyModel,
  opts: { signature?: boolean } = {},
): Promise<{ name: string; version: string }> {
  const name = unique('serve');
  await call('POST', 'registered-models/create', { name });
  const exp = await call('POST', 'experiments/create', { name: unique('serve-exp') });
  const run = (await call('POST', 'runs/create', { experiment_id: exp.body.experiment_id })).body.run;
  const uri = run.info.artifact_uri as string;
  await putArtifact(uri, 'model/model.onnx', model.onnx);
  await putArtifact(uri, 'model/MLmodel', 'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n');
  if (opts.signature !== false)
    await putArtifact(uri, 'model/signature.json', JSON.stringify(model.signature));
  const v = await call('POST', 'model-versions/create', {
    name,
    source: `runs:/${run.info.run_id}/model`,
    run_id: run.info.run_id,
  });
  expect(v.body.model_version.status).toBe('READY');
  return { name, version: v.body.model_version.version };
}

/** The serving API in-process over the test run's dynalite and object store; counts model calls. */
function servingApi(name: string, version: string | ModelPin) {
  const clients = awsClients();
  const files = {
    registry: new DynamoRegistryStore(clients.dynamodb, 'tracking'),
    runs: createDynamoTrackingStore(clients.dynamodb, 'tracking'),
    store: clients.objectStore,
    bucket: 'artifacts',
  };
  const calls = { run: 0, rowsPerRun: [] as number[] };
  const counting = async (bytes: Uint8Array): Promise<Scorer> => {
    const real = await createOnnxScorer(bytes);
    return {
      ...real,
      inputs: real.inputs,
      outputs: real.outputs,
      run: (feeds, outputs) => {
        calls.run++;
        calls.rowsPerRun.push(Number(Object.values(feeds)[0]!.dims[0]));
        return real.run(feeds, outputs);
      },
    };
  };
  const host = new ModelHost(() =>
    loadServedModel(
      { ...files, createScorer: counting, variant: 'test' },
      typeof version === 'string' ? { name, version } : version,
    ),
  );
  const lines: string[] = [];
  const handler = httpApi(
    servingBindings({
      modelName: name,
      host,
      files,
      log: new PredictionLog((l) => lines.push(l)),
      signerFor: () => new LocalArtifactSigner(clients.objectStore, 'artifacts', 'http://localhost'),
    }),
  );
  return { handler, calls, lines, host };
}

const cases: [string, () => TinyModel][] = [
  ['a built-in GBDT', () => trainTiny('gbdt')],
  ['a built-in logistic regression', () => trainTiny('logistic')],
  ['a bring-your-own ONNX model', byoModel],
];

describe.each(cases)('predictions of %s', (_label, make) => {
  let model: TinyModel;
  let api: ReturnType<typeof servingApi>;
  let name: string;
  let version: string;
  let expected: number[];

  beforeAll(async () => {
    model = make();
    ({ name, version } = await register(model));
    api = servingApi(name, version);
    // The model's own output: the inference module scoring the same rows directly.
    expected = Array.from(
      await scoreOnnx(model.onnx, model.signature, rowsToDataset(model.signature, model.rows)),
    );
  });

  it('through POST /v1/models/{name}/predict equal the model’s own output, in one model call', async () => {
    const before = api.calls.run;
    const res = await invoke(
      api.handler,
      'POST',
      '/v1/models/{name}/predict',
      { name },
      { instances: model.rows },
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ model_name: name, model_version: version, variant: 'test' });
    expect(res.json.request_id).toBeTruthy();
    expect(res.json.predictions).toEqual(expected);
    expect(api.calls.run - before).toBe(1);
    expect(api.calls.rowsPerRun.at(-1)).toBe(model.rows.length);
  });

  it('through dataframe_records and dataframe_split equal the same', async () => {
    const records = await invoke(
      api.handler,
      'POST',
      '/v1/models/{name}/predict',
      { name },
      { dataframe_records: model.rows },
    );
    expect(records.json.predictions).toEqual(expected);
    const columns = model.signature.inputs.map((i) => i.name);
    const split = await invoke(
      api.handler,
      'POST',
      '/v1/models/{name}/predict',
      { name },
      {
        dataframe_split: { columns, data: model.rows.map((r) => columns.map((c) => r[c] ?? null)) },
      },
    );
    expect(split.json.predictions).toEqual(expected);
  });

  it('through POST /v2/models/{name}/infer (one tensor per feature) equal the model’s own output', async () => {
    const before = api.calls.run;
    const inputs = model.signature.inputs.map((i) => ({
      name: i.name,
      shape: [model.rows.length, 1],
      datatype: i.type === 'float' ? 'FP32' : i.type === 'double' ? 'FP64' : 'BYTES',
      data: model.rows.map((r) => r[i.name] ?? null),
    }));
    const res = await invoke(
      api.handler,
      'POST',
      '/v2/models/{name}/versions/{version}/infer',
      { name, version },
      { id: 'r1', inputs },
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ model_name: name, model_version: version, id: 'r1' });
    const prob = res.json.outputs.find((o: { name: string }) => o.name === model.signature.outputs[0]!.name);
    const width = prob.shape.length === 2 ? prob.shape[1] : 1;
    const p1 = Array.from({ length: model.rows.length }, (_, i) => prob.data[i * width + width - 1]);
    expect(p1).toEqual(expected);
    expect(api.calls.run - before).toBe(1);
  });

  it('through the packed tensor equal the session run on the same tensor', async () => {
    const sig = model.signature;
    if (!sig.tensorInput) return;
    const feeds = buildFeeds(
      sig,
      rowsToDataset(
        sig,
        model.rows.filter((r) => Object.values(r).every((v) => v !== null)),
      ),
    );
    const t = feeds[sig.tensorInput.name]!;
    const scorer = await createOnnxScorer(model.onnx);
    const direct = await scorer.run(
      { [sig.tensorInput.name]: new Tensor(t.type as 'float32', t.data as Float32Array, t.dims) },
      [sig.outputs[0]!.name],
    );
    await scorer.release();
    const res = await invoke(
      api.handler,
      'POST',
      '/v2/models/{name}/infer',
      { name },
      {
        inputs: [
          {
            name: sig.tensorInput.name,
            shape: [...t.dims],
            datatype: sig.tensorInput.elementType === 'float' ? 'FP32' : 'FP64',
            data: Array.from(t.data as Float64Array),
          },
        ],
        outputs: [{ name: sig.outputs[0]!.name }],
      },
    );
    expect(res.status).toBe(200);
    expect(res.json.outputs[0].data).toEqual(
      Array.from(direct[sig.outputs[0]!.name]!.data as Float32Array, Number),
    );
  });

  it('are described by GET /v2/models/{name} from the signature, and the model is ready', async () => {
    const meta = await invoke(api.handler, 'GET', '/v2/models/{name}', { name });
    expect(meta.status).toBe(200);
    expect(meta.json).toMatchObject({ name, versions: [version], platform: 'onnxruntime_onnx' });
    expect(meta.json.inputs.map((i: { name: string }) => i.name)).toEqual(
      model.signature.inputs.map((i) => i.name),
    );
    expect(meta.json.outputs.map((o: { name: string }) => o.name)).toEqual(
      model.signature.outputs.map((o) => o.name),
    );
    expect((await invoke(api.handler, 'GET', '/v2/models/{name}/ready', { name })).json).toEqual({
      name,
      ready: true,
      version,
    });
    expect((await invoke(api.handler, 'GET', '/v2/health/ready', {})).status).toBe(200);
    // Another version of a loaded model is not here: 404, as infer and metadata answer, not 503.
    const other = await invoke(api.handler, 'GET', '/v2/models/{name}/versions/{version}/ready', {
      name,
      version: `${version}0`,
    });
    expect(other.status).toBe(404);
    expect(other.json).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
  });

  it('are logged one line per request with inputs, outputs, latency and version (EMF)', async () => {
    const n = api.lines.length;
    await invoke(api.handler, 'POST', '/v1/models/{name}/predict', { name }, { instances: model.rows });
    const line = JSON.parse(api.lines[n]!);
    expect(api.lines.length).toBe(n + 1);
    expect(line).toMatchObject({
      mlops_prediction: 1,
      model: name,
      version,
      variant: 'test',
      api: 'v1',
      status: 200,
      rows: model.rows.length,
      predictions: expected,
    });
    expect(line._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'ServerlessMlops/Serving',
      Dimensions: [
        ['model', 'version'],
        ['model', 'variant'],
      ],
    });
    expect(line.PredictLatency).toBeGreaterThan(0);
    expect(line.Prediction).toEqual(expected);
    expect(Object.keys(line.inputs)).toEqual(model.signature.inputs.map((i) => i.name));
  });
});

describe('bad input', () => {
  let name: string;
  let version: string;
  let api: ReturnType<typeof servingApi>;
  const predict = (body: unknown, model = name) =>
    invoke(api.handler, 'POST', '/v1/models/{name}/predict', { name: model }, body);

  beforeAll(async () => {
    ({ name, version } = await register(trainTiny('logistic')));
    api = servingApi(name, version);
  });

  it.each([
    ['a missing feature', { instances: [{ spend: 3 }] }, /missing feature 'plan'/],
    ['an extra feature', { instances: [{ spend: 3, plan: 'pro', age: 4 }] }, /unknown feature 'age'/],
    ['a string for a number', { instances: [{ spend: 'lots', plan: 'pro' }] }, /'spend' must be a number/],
    ['a boolean for a category', { instances: [{ spend: 3, plan: true }] }, /'plan' must be a category/],
    ['no rows', { instances: [] }, /at least one row/],
    [
      'two shapes at once',
      { instances: [{ spend: 1, plan: 'pro' }], dataframe_records: [] },
      /exactly one of/,
    ],
    ['entities without a feature service', { entities: { user_id: [1] } }, /names no feature service/],
  ])('%s is a 400 naming it', async (_what, body, message) => {
    const res = await predict(body);
    expect(res.status).toBe(400);
    expect(res.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(res.json.message).toMatch(message);
  });

  it.each([
    [
      'an unknown input',
      [{ name: 'nope', shape: [1, 1], datatype: 'FP64', data: [1] }],
      /unknown input 'nope'/,
    ],
    [
      'a wrong shape',
      [
        { name: 'spend', shape: [2, 1], datatype: 'FP64', data: [1] },
        { name: 'plan', shape: [2, 1], datatype: 'BYTES', data: ['a', 'b'] },
      ],
      /holds 2 value\(s\) but data has 1/,
    ],
    [
      'a wrong datatype',
      [
        { name: 'spend', shape: [1], datatype: 'BYTES', data: ['x'] },
        { name: 'plan', shape: [1], datatype: 'BYTES', data: ['a'] },
      ],
      /must be FP64/,
    ],
    [
      'rows that differ',
      [
        { name: 'spend', shape: [1], datatype: 'FP64', data: [1] },
        { name: 'plan', shape: [2], datatype: 'BYTES', data: ['a', 'b'] },
      ],
      /has 2 rows, other inputs have 1/,
    ],
    [
      'a packed tensor of the wrong width',
      [{ name: 'features', shape: [1, 3], datatype: 'FP64', data: [1, 2, 3] }],
      /shape \[N, 2\]/,
    ],
  ])('v2: %s is a 400 naming it', async (_what, inputs, message) => {
    const res = await invoke(api.handler, 'POST', '/v2/models/{name}/infer', { name }, { inputs });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(message);
  });

  it('an unknown model or version is a 404 naming it', async () => {
    const other = await predict({ instances: [{ spend: 1, plan: 'pro' }] }, 'someone-else');
    expect(other.status).toBe(404);
    expect(other.json.message).toMatch(/'someone-else' is not served here/);
    const v = await invoke(
      api.handler,
      'POST',
      '/v2/models/{name}/versions/{version}/infer',
      { name, version: '99' },
      { inputs: [{ name: 'spend', shape: [1], datatype: 'FP64', data: [1] }] },
    );
    expect(v.status).toBe(404);
    expect(v.json.message).toMatch(/has no version 99/);
    const exp = await invoke(api.handler, 'GET', '/v1/models/{name}/versions/{version}/export', {
      name,
      version: '42',
    });
    expect(exp.status).toBe(404);
  });

  it('a body over the limit is refused before it is read', async () => {
    const big = JSON.stringify({ instances: [{ spend: 1, plan: 'x'.repeat(5 * 1024 * 1024) }] });
    const res = await predict(big);
    expect(res.status).toBe(413);
    expect(res.json.message).toMatch(/at most/);
  });

  it('4xx answers are logged as rejected, not as errors of the version', async () => {
    const n = api.lines.length;
    await predict({ instances: [{ spend: 'x', plan: 'pro' }] });
    expect(JSON.parse(api.lines[n]!)).toMatchObject({
      mlops_prediction: 1,
      status: 400,
      PredictErrors: 0,
      PredictRejected: 1,
    });
  });
});

describe('a version whose model cannot load', () => {
  it('is not ready and answers 503 MODEL_NOT_READY, with the reason', async () => {
    const broken: TinyModel = { ...byoModel(), onnx: new TextEncoder().encode('not a model') };
    // Registration refuses such bytes; a signature-less model gets past it and fails here.
    const { name, version } = await register(byoModel(), { signature: false });
    const api = servingApi(name, version);
    const ready = await invoke(api.handler, 'GET', '/v2/models/{name}/ready', { name });
    expect(ready.status).toBe(503);
    expect(ready.json).toMatchObject({ ready: false, error_code: 'MODEL_NOT_READY' });
    expect(ready.json.message).toMatch(/signature/);
    const res = await invoke(
      api.handler,
      'POST',
      '/v1/models/{name}/predict',
      { name },
      { instances: broken.rows },
    );
    expect(res.status).toBe(503);
    expect(res.json.error_code).toBe('MODEL_NOT_READY');
    // Temporary as far as a client knows (a version may be re-uploaded): when to retry.
    expect(res.headers['retry-after']).toBe('1');
    expect(ready.headers['retry-after']).toBe('1');
    expect((await invoke(api.handler, 'GET', '/v2/health/ready', {})).status).toBe(503);
    expect((await invoke(api.handler, 'GET', '/v2/health/live', {})).status).toBe(200);
    expect(api.calls.run).toBe(0);
  });
});

describe('a model with no servable version', () => {
  it('answers predict and infer 404 RESOURCE_DOES_NOT_EXIST naming what is missing; ready stays 503', async () => {
    // Version 1 exists but is in no stage and has no alias: none of these pins names it.
    const model = trainTiny('logistic');
    const { name } = await register(model);
    const pins: [ModelPin, RegExp][] = [
      [{ name, stage: 'Production' }, /no version in Production/],
      [{ name, alias: 'champion' }, /no alias 'champion'/],
      [{ name, version: '7' }, /no version 7/],
      [{ name: unique('nothing'), stage: 'Production' }, /not found/],
    ];
    for (const [pin, why] of pins) {
      const api = servingApi(pin.name, pin);
      const res = await invoke(
        api.handler,
        'POST',
        '/v1/models/{name}/predict',
        { name: pin.name },
        { instances: model.rows },
      );
      expect(res.status, JSON.stringify(pin)).toBe(404);
      expect(res.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
      expect(res.json.message).toMatch(why);
      const infer = await invoke(
        api.handler,
        'POST',
        '/v2/models/{name}/infer',
        { name: pin.name },
        { inputs: [{ name: 'spend', shape: [1], datatype: 'FP64', data: [1] }] },
      );
      expect(infer.status).toBe(404);
      expect(infer.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
      const ready = await invoke(api.handler, 'GET', '/v2/models/{name}/ready', { name: pin.name });
      expect(ready.status).toBe(503);
      expect(ready.json).toMatchObject({ ready: false, error_code: 'MODEL_NOT_READY' });
      expect(ready.headers['retry-after']).toBe('1');
      expect(api.calls.run).toBe(0);
    }
  });
});

describe('the request line of a predict request', () => {
  it('is written inside the prediction line: one stdout write per request, each record whole', async () => {
    const model = trainTiny('logistic');
    const { name, version } = await register(model);
    // Request logs at INFO and metrics on, as on Lambda (the test environment turns both off);
    // the middleware reads both when the handler is built.
    const level = logger.getLevelName();
    const metricsOff = process.env.POWERTOOLS_METRICS_DISABLED;
    logger.setLogLevel('INFO');
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    let api: ReturnType<typeof servingApi>;
    try {
      api = servingApi(name, version);
    } finally {
      logger.setLogLevel(level as never);
      process.env.POWERTOOLS_METRICS_DISABLED = metricsOff;
    }
    await api.host.model();
    const n = api.lines.length;
    const stdout: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      if (String(chunk).startsWith('{')) stdout.push(String(chunk));
      return true;
    });
    let ok: Awaited<ReturnType<typeof invoke>>;
    let bad: Awaited<ReturnType<typeof invoke>>;
    try {
      ok = await invoke(
        api.handler,
        'POST',
        '/v1/models/{name}/predict',
        { name },
        { instances: model.rows },
      );
      bad = await invoke(
        api.handler,
        'POST',
        '/v1/models/{name}/predict',
        { name },
        {
          instances: [{ spend: 'x', plan: 'pro' }],
        },
      );
      await invoke(api.handler, 'GET', '/v2/models/{name}', { name });
    } finally {
      write.mockRestore();
    }
    expect([ok.status, bad.status]).toEqual([200, 400]);

    // The predict requests wrote nothing of their own; the metadata request its usual line.
    expect(stdout.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({
        message: 'request',
        resource: '/v2/models/{name}',
        status: 200,
        Requests: 1,
      }),
    ]);
    const [success, failure] = api.lines.slice(n).map((l) => JSON.parse(l));
    expect(api.lines.length).toBe(n + 2);
    const requestMetrics = (error?: string) => ({
      Namespace: 'ServerlessMlops',
      Dimensions: [['service']],
      Metrics: [
        { Name: 'Requests', Unit: 'Count' },
        { Name: 'Latency', Unit: 'Milliseconds' },
        ...(error ? [{ Name: error, Unit: 'Count' }] : []),
      ],
    });
    expect(success).toMatchObject({
      mlops_prediction: 1,
      status: 200,
      request_id: ok.headers['x-request-id'],
      requestId: ok.headers['x-request-id'],
      method: 'POST',
      resource: '/v1/models/{name}/predict',
      Requests: 1,
      predictions: ok.json.predictions,
    });
    expect(success.level).toBeUndefined();
    expect(success.Latency).toBeGreaterThanOrEqual(success.latency_ms);
    expect(success._aws.CloudWatchMetrics).toHaveLength(2);
    expect(success._aws.CloudWatchMetrics[0].Namespace).toBe('ServerlessMlops/Serving');
    expect(success._aws.CloudWatchMetrics[1]).toEqual(requestMetrics());
    expect(failure).toMatchObject({ status: 400, PredictRejected: 1, Requests: 1, Errors4xx: 1 });
    expect(failure._aws.CloudWatchMetrics[1]).toEqual(requestMetrics('Errors4xx'));

    // The log shipper reads the line as before: the request's members are not the prediction's extras.
    for (const line of api.lines.slice(n)) {
      const parsed = parsePredictionLine(line);
      expect(parsed.ok && parsed.record.extra).toEqual({});
    }
  });
});
