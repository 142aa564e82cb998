import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetAliasCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRegistryStore } from '../../lambdas/tracking/store/dynamo-registry-store';
import { buildApp } from '../../lib/app';
import { PlatformFunction } from '../../lib/private/platform-function';
import { CanaryDeployment } from '../../lib/serving/deployment';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import type { CfnTemplate } from '../../local/template';

const MODEL = 'canary-churn';
let runtime: LocalRuntime;
let dataDir: string;
let registry: DynamoRegistryStore;
let lambdaClient: LambdaClient;
let fnName: string;
let machine: string;

beforeAll(async () => {
  // The serving stand-in (a fixture whose model version 2 answers 500), its `live` alias
  // behind a route, and the deployment workflow with its alarms, all from CDK.
  // The console is off: the fixture's function, API and second workflow beside the whole
  // platform would pass CloudFormation's 500-resource limit (the platform alone has 454).
  const { app, stack } = buildApp(
    { stage: 'canary', console: { enabled: false } },
    { nag: false, skipBundling: true },
  );
  const platform = stack.platform;
  const fixture = new PlatformFunction(platform, 'CanaryFixture', {
    ...platform.functionDefaults('canary'),
    entry: 'test/serving/fixtures/canary-handler.ts',
    environment: {
      MODEL_NAME: MODEL,
      MODEL_VERSION: '1',
      SERVING_VARIANT: 'blue',
      FAULTY_MODEL_VERSIONS: '2',
    },
  });
  const live = new lambda.Alias(platform, 'FixtureLive', {
    aliasName: 'live',
    version: fixture.fn.currentVersion,
  });
  const api = new apigw.RestApi(platform, 'FixtureApi');
  api.root.addResource('fixture').addMethod('GET', new apigw.LambdaIntegration(live));
  const deployment = new CanaryDeployment(platform, 'FixtureDeployment', {
    function: fixture.fn,
    alias: live,
    modelName: MODEL,
    trackingTable: platform.tracking.table,
    functionDefaults: (s) => platform.functionDefaults(s),
    errorRate: 0.01,
    latencyP99Ms: 500,
    bakeTime: Duration.seconds(2),
  });
  const template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  fnName = stack.getLogicalId(fixture.fn.node.defaultChild as lambda.CfnFunction);
  machine = stack.getLogicalId(deployment.stateMachine.node.defaultChild as lambda.CfnFunction);
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-canary-'));
  runtime = await startLocalRuntime({
    port: 0,
    dataDir,
    template,
    inMemory: true,
    config: { stage: 'canary' },
    // A 60 s alarm period lasts 1 s here.
    alarmTimeScale: 1 / 60,
  });
  registry = new DynamoRegistryStore(localDynamoClients(runtime.dynamodbEndpoint).doc, 'tracking');
  const now = Date.now();
  await registry.createModel({
    name: MODEL,
    creation_timestamp: now,
    last_updated_timestamp: now,
    user_id: 'test',
    description: '',
    tags: {},
    aliases: {},
  } as never);
  for (const version of ['1', '2', '3']) {
    await registry.putVersion({
      name: MODEL,
      version,
      creation_timestamp: now,
      last_updated_timestamp: now,
      user_id: 'test',
      current_stage: 'None',
      description: '',
      source: `models:/${MODEL}/${version}`,
      run_id: '',
      run_link: '',
      status: 'READY',
      status_message: '',
      tags: {},
    });
  }
  lambdaClient = new LambdaClient({
    endpoint: runtime.env.AWS_ENDPOINT_URL_LAMBDA,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}, 180_000);

afterAll(async () => {
  lambdaClient?.destroy();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs a deployment while clients keep calling the live alias; returns the execution and what served. */
async function deployUnderLoad(version: string) {
  let done = false;
  const served = new Map<string, number>();
  const load = async () => {
    while (!done) {
      const res = await fetch(`${runtime.url}/fixture`);
      const body = (await res.json()) as { model_version: string };
      served.set(body.model_version, (served.get(body.model_version) ?? 0) + 1);
    }
  };
  const clients = Array.from({ length: 6 }, load);
  try {
    const execution = await runtime.stepFunctions.run(machine, {
      name: `deploy-${MODEL}-${version}-${Date.now()}`,
      input: { request: { model: MODEL, version } },
    });
    return { execution, served };
  } finally {
    done = true;
    await Promise.all(clients);
  }
}

describe('canary deployment through the weighted live alias', () => {
  it('rolls a version with injected errors back during its canary, and the registry says why', async () => {
    const { execution, served } = await deployUnderLoad('2');
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.Error).toBe('CanaryRolledBack');
    const tags = (await registry.getVersion(MODEL, '2'))?.tags ?? {};
    expect(tags['mlops.deployment.status']).toBe('rolled_back');
    expect(tags['mlops.deployment.rollback_reason']).toMatch(/GreenErrorRate.*PredictErrors/);
    // Rolled back at the first step: it never took more than its 5%.
    expect(tags['mlops.deployment.steps']).toMatch(/^5%@[^,]+$/);
    expect(served.get('2') ?? 0).toBeGreaterThan(0);
    const alias = await lambdaClient.send(new GetAliasCommand({ FunctionName: fnName, Name: 'live' }));
    expect(alias.FunctionVersion).toBe('1');
    expect(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({});
    // The alarm's state change went to the alert topic and the event bus.
    const events = readFileSync(join(dataDir, 'events', 'events.jsonl'), 'utf8');
    expect(events).toContain('CloudWatch Alarm State Change');
    const after = await fetch(`${runtime.url}/fixture`);
    expect(await after.json()).toMatchObject({ model_version: '1' });
  }, 120_000);

  it('takes a healthy version through every step to 100%', async () => {
    const { execution } = await deployUnderLoad('3');
    expect(execution.status, JSON.stringify(execution.error)).toBe('SUCCEEDED');
    const tags = (await registry.getVersion(MODEL, '3'))?.tags ?? {};
    expect(tags['mlops.deployment.status']).toBe('live');
    expect(tags['mlops.deployment.traffic']).toBe('100');
    expect(tags['mlops.deployment.steps']?.split(',').map((s) => s.split('@')[0])).toEqual([
      '5%',
      '25%',
      '50%',
      '100%',
    ]);
    const alias = await lambdaClient.send(new GetAliasCommand({ FunctionName: fnName, Name: 'live' }));
    expect(alias.FunctionVersion).toBe(tags['mlops.deployment.lambda_version']);
    expect(alias.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({});
    for (let i = 0; i < 10; i++) {
      expect(await (await fetch(`${runtime.url}/fixture`)).json()).toMatchObject({ model_version: '3' });
    }
  }, 120_000);

  it('refuses to deploy a version the registry does not have, moving no traffic', async () => {
    const execution = await runtime.stepFunctions.run(machine, {
      name: `deploy-missing-${Date.now()}`,
      input: { request: { model: MODEL, version: '42' } },
    });
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.Error).toBe('DeploymentRefused');
  }, 60_000);
});
