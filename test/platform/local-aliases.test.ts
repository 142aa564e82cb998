import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { PlatformFunction } from '../../lib/private/platform-function';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import type { CfnTemplate } from '../../local/template';

let runtime: LocalRuntime;
let dataDir: string;
let client: LambdaClient;
let fnName: string;

beforeAll(async () => {
  // A function with a version and a `live` alias behind an API route, added in CDK: the
  // local runtime must run them from the template, as Lambda would.
  const { app, stack } = buildApp({ stage: 'aliases' }, { nag: false, skipBundling: true });
  const platform = stack.platform;
  const fixture = new PlatformFunction(platform, 'CanaryFixture', {
    ...platform.functionDefaults('canary'),
    entry: 'test/serving/fixtures/canary-handler.ts',
    environment: { MODEL_NAME: 'churn', MODEL_VERSION: '1' },
  });
  const live = new lambda.Alias(platform, 'FixtureLive', {
    aliasName: 'live',
    version: fixture.fn.currentVersion,
  });
  const api = new apigw.RestApi(platform, 'FixtureApi');
  api.root.addResource('fixture').addMethod('GET', new apigw.LambdaIntegration(live));
  const template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  fnName = stack.getLogicalId(fixture.fn.node.defaultChild as lambda.CfnFunction);
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-aliases-'));
  runtime = await startLocalRuntime({
    port: 0,
    dataDir,
    template,
    inMemory: true,
    config: { stage: 'aliases' },
  });
  client = new LambdaClient({
    endpoint: runtime.env.AWS_ENDPOINT_URL_LAMBDA,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Publishes a version of the fixture pinned to a model version, as the deployment workflow does. */
async function publishPinned(modelVersion: string): Promise<string> {
  const current = await client.send(new GetFunctionConfigurationCommand({ FunctionName: fnName }));
  const updated = await client.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: fnName,
      Environment: { Variables: { ...current.Environment?.Variables, MODEL_VERSION: modelVersion } },
    }),
  );
  const published = await client.send(
    new PublishVersionCommand({ FunctionName: fnName, RevisionId: updated.RevisionId }),
  );
  return published.Version as string;
}

describe('Lambda versions and aliases on the local runtime', () => {
  it('starts from the template: the alias points at the version CloudFormation published', async () => {
    const alias = await client.send(new GetAliasCommand({ FunctionName: fnName, Name: 'live' }));
    expect(alias.FunctionVersion).toBe('1');
    expect(alias.RoutingConfig).toBeUndefined();
    const res = await fetch(`${runtime.url}/fixture`);
    expect(await res.json()).toMatchObject({ lambda_version: '1', model_version: '1' });
  });

  it('publishes a version that keeps its environment when $LATEST changes later (a pin)', async () => {
    const v = await publishPinned('7');
    await publishPinned('8');
    const pinned = await client.send(
      new GetFunctionConfigurationCommand({ FunctionName: fnName, Qualifier: v }),
    );
    expect(pinned.Environment?.Variables?.MODEL_VERSION).toBe('7');
    const out = await client.send(
      new InvokeCommand({ FunctionName: fnName, Qualifier: v, Payload: Buffer.from(JSON.stringify({})) }),
    );
    expect(out.ExecutedVersion).toBe(v);
    const body = JSON.parse(JSON.parse(Buffer.from(out.Payload as Uint8Array).toString()).body);
    expect(body).toMatchObject({ lambda_version: v, model_version: '7' });
  });

  it('refuses what Lambda refuses: unpublished versions, bad weights, a stale revision', async () => {
    await expect(
      client.send(new UpdateAliasCommand({ FunctionName: fnName, Name: 'live', FunctionVersion: '99' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      client.send(
        new UpdateAliasCommand({
          FunctionName: fnName,
          Name: 'live',
          RoutingConfig: { AdditionalVersionWeights: { '2': 1.5 } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await expect(
      client.send(new UpdateAliasCommand({ FunctionName: fnName, Name: 'live', RevisionId: 'stale' })),
    ).rejects.toMatchObject({ name: 'PreconditionFailedException' });
    await expect(
      client.send(new GetAliasCommand({ FunctionName: fnName, Name: 'nope' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const alias = await client.send(new GetAliasCommand({ FunctionName: fnName, Name: 'live' }));
    expect(alias.FunctionVersion).toBe('1');
  });

  it('routes an alias route by its weights: 2,000 calls at 20% land within binomial 4-sigma bounds', async () => {
    const canary = await publishPinned('20');
    await client.send(
      new UpdateAliasCommand({
        FunctionName: fnName,
        Name: 'live',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { [canary]: 0.2 } },
      }),
    );
    const alias = await client.send(new GetAliasCommand({ FunctionName: fnName, Name: 'live' }));
    expect(alias.RoutingConfig?.AdditionalVersionWeights).toEqual({ [canary]: 0.2 });
    const n = 2000;
    const counts = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        const body = (await (await fetch(`${runtime.url}/fixture`)).json()) as { lambda_version: string };
        counts.set(body.lambda_version, (counts.get(body.lambda_version) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const k = counts.get(canary) ?? 0;
    const sigma = Math.sqrt(n * 0.2 * 0.8);
    expect(Math.abs(k - n * 0.2)).toBeLessThanOrEqual(4 * sigma);
    expect((counts.get('1') ?? 0) + k).toBe(n);

    // All traffic to the new version: the alias's own version, no additional weights.
    await client.send(
      new UpdateAliasCommand({
        FunctionName: fnName,
        Name: 'live',
        FunctionVersion: canary,
        RoutingConfig: {},
      }),
    );
    for (let i = 0; i < 20; i++) {
      expect(await (await fetch(`${runtime.url}/fixture`)).json()).toMatchObject({ lambda_version: canary });
    }
  }, 120_000);
});
