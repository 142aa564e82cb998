import { join } from 'node:path';
import {
  DescribeEndpointCommand,
  SageMakerClient,
  UpdateEndpointWeightsAndCapacitiesCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { rowsToDataset } from '../../lambdas/serving/domain/rows';
import { scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import type { ModelSignature } from '../../lambdas/serving/inference/signature';
import { packageForTriton } from '../../lambdas/serving/sagemaker/package';
import { createDynamoTrackingStore } from '../../lambdas/tracking/store/dynamo-tracking-store';
import { DataType, encodeModel, type NodeDef, tensorType } from '../../lambdas/training/onnx/model-proto';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { useServingRuntime } from './support';

// The platform as `cdk synth` defines it with servingBackend 'sagemaker': the predict function
// is the endpoint's front, the endpoint and its variants come from AWS::SageMaker::* resources.
const s = useServingRuntime({
  prefix: 'sm',
  config: { stage: 'smlocal', servingBackend: 'sagemaker' },
  // A 60 s alarm period lasts 1 s here.
  alarmTimeScale: 1 / 60,
  timeoutMs: 240_000,
});
const NAME = s.name;
const ENDPOINT = 'mlops-smlocal-serving';
const { call } = s;
let sagemaker: SageMakerClient;

const signature: ModelSignature = {
  tensorInput: { name: 'float_input', elementType: 'float' },
  inputs: [
    { name: 'x1', type: 'float' },
    { name: 'x2', type: 'float' },
  ],
  outputs: [
    { name: 'probability_tensor', meaning: 'probability' },
    { name: 'label', meaning: 'label' },
  ],
};
const rows = [
  { x1: 0.5, x2: -1 },
  { x1: 2, x2: 3 },
  { x1: -1.25, x2: 0.75 },
];

/**
 * A scikit-learn-style linear classifier over `float_input` [N, 2]. With `failsOnBatches`
 * its graph first reshapes the input to [1, 2]: it loads and passes every load-time check,
 * but fails at run time on any request of more than one row (a version that breaks in use).
 */
function linearOnnx(coefficients: number[], failsOnBatches = false): Uint8Array {
  const nodes: NodeDef[] = [];
  if (failsOnBatches) nodes.push({ opType: 'Reshape', inputs: ['float_input', 'one_row'], outputs: ['x'] });
  nodes.push({
    opType: 'LinearClassifier',
    domain: 'ai.onnx.ml',
    inputs: [failsOnBatches ? 'x' : 'float_input'],
    outputs: ['label', 'probability_tensor'],
    attributes: {
      classlabels_ints: { kind: 'ints', value: [0, 1] },
      coefficients: { kind: 'floats', value: coefficients },
      intercepts: { kind: 'floats', value: [0.1, -0.1] },
      post_transform: { kind: 'string', value: 'SOFTMAX' },
    },
  });
  return encodeModel({
    opsets: { '': 15, 'ai.onnx.ml': 3 },
    graph: {
      name: 'linear',
      inputs: [{ name: 'float_input', type: tensorType(DataType.FLOAT, [null, 2]) }],
      outputs: [
        { name: 'label', type: tensorType(DataType.INT64, [null]) },
        { name: 'probability_tensor', type: tensorType(DataType.FLOAT, [null, 2]) },
      ],
      nodes,
      ...(failsOnBatches
        ? { initializers: [{ name: 'one_row', dims: [2], dataType: DataType.INT64, values: [1, 2] }] }
        : {}),
    },
  });
}

const V1 = linearOnnx([-0.5, -1, 0.5, 1]);
const V2 = linearOnnx([0.25, -2, -0.25, 2]);
const V3_FAILING = linearOnnx([-0.5, -1, 0.5, 1], true);

const expected = async (onnx: Uint8Array) =>
  Array.from(await scoreOnnx(onnx, signature, rowsToDataset(signature, rows)));

/** Registers an ONNX model as the next version through the MLflow API. */
const register = (onnx: Uint8Array) => s.register({ onnx, signature });

async function predict() {
  return call('POST', `/v1/models/${NAME}/predict`, { instances: rows });
}

async function weights(): Promise<Record<string, number>> {
  const e = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
  return Object.fromEntries((e.ProductionVariants ?? []).map((v) => [v.VariantName, v.CurrentWeight ?? 0]));
}

beforeAll(async () => {
  const { runtime, registry } = s;
  const clients = localDynamoClients(runtime.dynamodbEndpoint);
  sagemaker = new SageMakerClient({
    endpoint: runtime.env.AWS_ENDPOINT_URL_SAGEMAKER,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

  // Version 1, in Production for the front's signature, packaged for Triton where the
  // template's initial model reads it (what `cdk deploy` expects to find).
  expect(await register(V1)).toBe('1');
  await call('POST', 'model-versions/transition-stage', { name: NAME, version: '1', stage: 'Production' });
  await packageForTriton(
    {
      registry,
      runs: createDynamoTrackingStore(clients.doc, 'tracking'),
      store: new FsObjectStore(join(s.dataDir, 's3')),
      bucket: 'artifacts',
    },
    NAME,
    '1',
  );
  let ready = await call('GET', `/v2/models/${NAME}/ready`);
  for (let i = 0; i < 40 && ready.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 250));
    ready = await call('GET', `/v2/models/${NAME}/ready`);
  }
  expect(ready.json).toMatchObject({ ready: true, version: '1' });
}, 240_000);

afterAll(() => {
  sagemaker?.destroy();
});

describe("servingBackend 'sagemaker' on the local runtime, from the template", () => {
  it('answers /v1 predict and /v2 infer through InvokeEndpoint with the model’s own output', async () => {
    const want = await expected(V1);
    const v1 = await predict();
    expect(v1.status, JSON.stringify(v1.json)).toBe(200);
    expect(v1.json).toMatchObject({
      model_name: NAME,
      model_version: '1',
      variant: 'blue',
      predictions: want,
    });

    const v2 = await call('POST', `/v2/models/${NAME}/infer`, {
      id: 'r1',
      inputs: signature.inputs.map((i) => ({
        name: i.name,
        shape: [rows.length],
        datatype: 'FP64',
        data: rows.map((r) => r[i.name as 'x1' | 'x2']),
      })),
      outputs: [{ name: 'probability_tensor' }],
    });
    expect(v2.status, JSON.stringify(v2.json)).toBe(200);
    expect(v2.json).toMatchObject({ model_version: '1', id: 'r1', parameters: { variant: 'blue' } });
    expect(v2.json.outputs[0].data.filter((_: number, i: number) => i % 2 === 1)).toEqual(want);
  });

  it('refuses an unsigned or wrongly signed InvokeEndpoint, as SageMaker does', async () => {
    const unsigned = await fetch(
      `${s.runtime.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME}/endpoints/${ENDPOINT}/invocations`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      },
    );
    expect(unsigned.status).toBe(403);
    const wrong = new SageMakerRuntimeClient({
      endpoint: s.runtime.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'not-the-secret' },
    });
    await expect(
      wrong.send(
        new InvokeEndpointCommand({ EndpointName: ENDPOINT, ContentType: 'application/json', Body: '{}' }),
      ),
    ).rejects.toThrow(/signature we calculated does not match/);
    wrong.destroy();
  });

  it('refuses a version whose container cannot load its model before any traffic, and records why', async () => {
    // A well-formed ONNX graph with an operator no runtime has: the registry API refuses to
    // register it, so it is written to the registry directly (a file corrupted later would do).
    const unloadable = encodeModel({
      opsets: { '': 15 },
      graph: {
        name: 'unloadable',
        inputs: [{ name: 'float_input', type: tensorType(DataType.FLOAT, [null, 2]) }],
        outputs: [{ name: 'probability_tensor', type: tensorType(DataType.FLOAT, [null, 2]) }],
        nodes: [{ opType: 'NoSuchOperator', inputs: ['float_input'], outputs: ['probability_tensor'] }],
      },
    });
    const runId = await s.logModel({ onnx: unloadable, signature });
    const now = Date.now();
    await s.registry.putVersion({
      name: NAME,
      version: '900',
      creation_timestamp: now,
      last_updated_timestamp: now,
      user_id: 'test',
      current_stage: 'None',
      description: '',
      source: `runs:/${runId}/model`,
      run_id: runId,
      run_link: '',
      status: 'READY',
      status_message: '',
      tags: {},
    });
    const execution = await s.runtime.stepFunctions.run(s.deploymentMachine, {
      name: `deploy-${NAME}-900-${Date.now()}`,
      input: { request: { model: NAME, version: '900', steps: [100], bakeSeconds: 0 } },
    });
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.Error).toBe('DeploymentRefused');
    const tags = (await s.registry.getVersion(NAME, '900'))?.tags ?? {};
    expect(tags['mlops.deployment.status']).toBe('refused');
    expect(tags['mlops.deployment.refusal_reason']).toMatch(
      /variant green serves version 1, not 900: .*health check/,
    );
    expect(tags['mlops.deployment.steps'] ?? '').toBe('');
    expect(await weights()).toEqual({ blue: 1, green: 0 });
    expect((await predict()).json).toMatchObject({ model_version: '1', variant: 'blue' });
  }, 120_000);

  it('rolls a version that fails in use back during its canary, and the registry says why', async () => {
    expect(await register(V3_FAILING)).toBe('2');
    let done = false;
    const statuses: number[] = [];
    const load = async () => {
      while (!done) statuses.push((await predict()).status);
    };
    const clients = Array.from({ length: 3 }, load);
    let execution: Awaited<ReturnType<typeof s.runtime.stepFunctions.run>>;
    try {
      execution = await s.runtime.stepFunctions.run(s.deploymentMachine, {
        name: `deploy-${NAME}-2-${Date.now()}`,
        input: { request: { model: NAME, version: '2', steps: [50, 100], bakeSeconds: 3 } },
      });
    } finally {
      done = true;
      await Promise.all(clients);
    }
    expect(execution.status, JSON.stringify(execution.error)).toBe('FAILED');
    expect(execution.error?.Error).toBe('CanaryRolledBack');
    const tags = (await s.registry.getVersion(NAME, '2'))?.tags ?? {};
    expect(tags['mlops.deployment.status']).toBe('rolled_back');
    expect(tags['mlops.deployment.variant']).toBe('green');
    // SageMaker's own alarm on the green variant's 5XX errors (a failed invocation names no
    // variant to the front, so the prediction log cannot attribute it).
    expect(tags['mlops.deployment.rollback_reason']).toMatch(/GreenInvocation5XX.*Invocation5XXErrors/);
    expect(tags['mlops.deployment.steps']).toMatch(/^50%@[^,]+$/);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(await weights()).toEqual({ blue: 1, green: 0 });
    for (let i = 0; i < 5; i++)
      expect((await predict()).json).toMatchObject({ model_version: '1', variant: 'blue' });
  }, 180_000);

  it('takes a healthy version through every step to 100% on the other variant', async () => {
    expect(await register(V2)).toBe('3');
    const execution = await s.runtime.stepFunctions.run(s.deploymentMachine, {
      name: `deploy-${NAME}-3-${Date.now()}`,
      input: { request: { model: NAME, version: '3', steps: [50, 100], bakeSeconds: 1 } },
    });
    expect(execution.status, JSON.stringify(execution.error)).toBe('SUCCEEDED');
    const tags = (await s.registry.getVersion(NAME, '3'))?.tags ?? {};
    expect(tags).toMatchObject({
      'mlops.deployment.status': 'live',
      'mlops.deployment.traffic': '100',
      'mlops.deployment.variant': 'green',
      'mlops.deployment.previous_lambda_version': 'blue',
    });
    expect(await weights()).toEqual({ blue: 0, green: 1 });
    const want = await expected(V2);
    for (let i = 0; i < 5; i++)
      expect((await predict()).json).toMatchObject({
        model_version: '3',
        variant: 'green',
        predictions: want,
      });
  }, 180_000);

  it('splits traffic between the variants by their weights, each scoring with its own version', async () => {
    // Blue still runs version 1, green now runs version 3.
    await sagemaker.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: ENDPOINT,
        DesiredWeightsAndCapacities: [
          { VariantName: 'blue', DesiredWeight: 0.3 },
          { VariantName: 'green', DesiredWeight: 0.7 },
        ],
      }),
    );
    const [want1, want3] = [await expected(V1), await expected(V2)];
    const n = 300;
    const seen = { blue: 0, green: 0 };
    for (let i = 0; i < n; i += 10) {
      const answers = await Promise.all(Array.from({ length: 10 }, predict));
      for (const a of answers) {
        expect(a.status).toBe(200);
        const variant = a.json.variant as 'blue' | 'green';
        seen[variant]++;
        expect(a.json).toMatchObject(
          variant === 'blue'
            ? { model_version: '1', predictions: want1 }
            : { model_version: '3', predictions: want3 },
        );
      }
    }
    // Within four standard deviations of a binomial(300, 0.3): a wrong weighting is far outside.
    const sd = Math.sqrt(n * 0.3 * 0.7);
    expect(Math.abs(seen.blue - 0.3 * n)).toBeLessThan(4 * sd);
    expect(seen.blue + seen.green).toBe(n);
  }, 180_000);
});
