import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerDeployCommands } from '../../lambdas/serving/deploy/cli';
import { routeEvents } from '../../local/event-rules';
import { trainTiny, useServingRuntime } from './support';

// The platform's own serving function and deployment workflow, from the template.
const s = useServingRuntime({
  prefix: 'deploy',
  config: { serving: { autoDeploy: 'staging-winners' } },
  timeoutMs: 120_000,
});
const NAME = s.name;
const { call, register, alias } = s;

describe('the deployment readiness gate', () => {
  it('refuses a version whose model cannot load before it receives any traffic, and records why', async () => {
    const good = await register(trainTiny('gbdt', 5));
    await call('POST', 'model-versions/transition-stage', { name: NAME, version: good, stage: 'Production' });
    const before = await alias();
    // The API refuses to register such a file: this version is written to the registry
    // directly, as a store written by another tool (or a file corrupted later) would hold it.
    const model = trainTiny('gbdt', 6);
    const runId = await s.logModel({ onnx: 'this is not an ONNX model', signature: model.signature });
    // A number the registry's own counter does not reach in this suite.
    const broken = '900';
    const now = Date.now();
    await s.registry.putVersion({
      name: NAME,
      version: broken,
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
      name: `deploy-${NAME}-${broken}-${Date.now()}`,
      input: { request: { model: NAME, version: broken, steps: [100], bakeSeconds: 0 } },
    });
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.Error).toBe('DeploymentRefused');
    const tags = (await s.registry.getVersion(NAME, broken))?.tags ?? {};
    expect(tags['mlops.deployment.status']).toBe('refused');
    expect(tags['mlops.deployment.traffic']).toBe('0');
    expect(tags['mlops.deployment.refusal_reason']).toMatch(/not ready: ready probe answered 503: .+/);
    // No step was ever taken: the alias is as it was, with no weight on the published version.
    expect(tags['mlops.deployment.steps'] ?? '').toBe('');
    expect(await alias()).toEqual(before);
  }, 120_000);

  it('lets a version whose model loads through to 100%', async () => {
    const version = await register(trainTiny('logistic', 9));
    const execution = await s.runtime.stepFunctions.run(s.deploymentMachine, {
      name: `deploy-${NAME}-${version}-${Date.now()}`,
      input: { request: { model: NAME, version, steps: [100], bakeSeconds: 0 } },
    });
    expect(execution.status, JSON.stringify(execution.error)).toBe('SUCCEEDED');
    const tags = (await s.registry.getVersion(NAME, version))?.tags ?? {};
    expect(tags['mlops.deployment.status']).toBe('live');
    expect(tags['mlops.deployment.ready_at']).toBeTruthy();
    expect((await alias()).version).toBe(tags['mlops.deployment.lambda_version']);
    const res = await call('GET', `/v2/models/${NAME}/ready`);
    expect(res.json).toEqual({ name: NAME, ready: true, version });
  }, 120_000);
});

describe('the deployment API and the CLI over it', () => {
  it('answers a clear 4xx for a request it cannot serve, starting nothing', async () => {
    const missing = await call('POST', '/v1/deployments', { model: NAME, version: '99' });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
    expect(missing.json.message).toMatch(/no version '99'/);
    const bad = await call('POST', '/v1/deployments', { model: NAME, version: 'latest' });
    expect(bad.status).toBe(400);
    expect(bad.json.error_code).toBeTruthy();
    const other = await call('GET', '/v1/deployments/not-this-model');
    expect(other.status).toBe(404);
  });

  it('starts a canary through POST /v1/deployments, reports it, and `mlops rollback` undoes it', async () => {
    const before = await alias();
    const version = await register(trainTiny('gbdt', 13));
    const started = await call('POST', '/v1/deployments', {
      model: NAME,
      version,
      steps: [100],
      bake_seconds: 0,
    });
    expect(started.status, JSON.stringify(started.json)).toBe(200);
    expect(started.json.deployment_id).toMatch(/:execution:.*ServingDeployment/);

    // The workflow runs in the background; its record shows on the status route.
    // biome-ignore lint/suspicious/noExplicitAny: asserted field by field
    let record: any;
    for (let i = 0; i < 120 && record?.status !== 'live'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const status = await call('GET', `/v1/deployments/${NAME}`);
      expect(status.status).toBe(200);
      record = status.json.deployments.find((d: { version: string }) => d.version === version);
    }
    expect(record).toMatchObject({ status: 'live', traffic: '100' });
    const live = (await call('GET', `/v1/deployments/${NAME}`)).json.live;
    expect(live).toEqual({ lambda_version: record.lambda_version, model_version: version, weights: {} });

    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const program = new Command('mlops').exitOverride();
      registerDeployCommands(program);
      await program.parseAsync(['rollback', NAME, '--api-url', s.runtime.url], { from: 'user' });
    } finally {
      out.mockRestore();
    }
    expect(await alias()).toEqual(before);
    const after = (await call('GET', `/v1/deployments/${NAME}`)).json;
    expect(after.deployments.find((d: { version: string }) => d.version === version)).toMatchObject({
      status: 'rolled_back',
      rollback_reason: 'manual rollback (mlops rollback)',
    });
  }, 120_000);
});

describe("serving.autoDeploy: 'staging-winners'", () => {
  it('starts a canary when a version of the served model moves to Staging', async () => {
    const logs: string[] = [];
    const stop = routeEvents(s.runtime.plan, s.dataDir, s.runtime.stepFunctions, (l) => logs.push(l));
    try {
      const version = await register(trainTiny('gbdt', 17));
      const moved = await call('POST', 'model-versions/transition-stage', {
        name: NAME,
        version,
        stage: 'Staging',
      });
      expect(moved.status).toBe(200);
      // biome-ignore lint/suspicious/noExplicitAny: asserted field by field
      let record: any;
      for (let i = 0; i < 120 && record?.traffic !== '5'; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const status = (await call('GET', `/v1/deployments/${NAME}`)).json;
        record = status.deployments.find((d: { version: string }) => d.version === version);
      }
      expect(record, logs.join('\n')).toMatchObject({ status: 'canary', traffic: '5' });
      expect(logs.join('\n')).toMatch(/DeployStagingWinners/);
      expect((await alias()).weights).toEqual({ [record.lambda_version]: 0.05 });
    } finally {
      stop();
    }
  }, 120_000);
});
