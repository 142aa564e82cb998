import { describe, expect, it } from 'vitest';
import { PredictionIndex } from '../../lambdas/monitoring/labels/prediction-index';
import type { SevereOutcome } from '../../lambdas/monitoring/performance/severe';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { type TinyModel, trainTiny, useServingRuntime } from '../serving/support';

// The platform's template, run locally: serving, its deployment workflow, the log shipper,
// the prediction index, the labels route, the performance job and the severe alarm.
// The performance alarm's hour is 10 s here; the canary's minute a sixth of a second.
const s = useServingRuntime({ prefix: 'severe', alarmTimeScale: 1 / 360, timeoutMs: 180_000 });

/** Registers a version whose run carries the test AUC the pipeline would have logged. */
const register = (model: TinyModel, testAuc: number) => s.register(model, { metrics: { test_auc: testAuc } });

const fnOf = (entry: string) =>
  [...s.runtime.plan.functions.values()].find((f) => f.entry === entry)?.logicalId ?? '';

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const severeAlarm = () => s.runtime.alarms.composites.find((c) => c.logicalId.includes('PerformanceSevere'));
const liveVersion = async () => (await s.alias()).version;

describe('the severe alarm', () => {
  it('rolls the live alias back when the serving version predicts far worse than at training, and records why', async () => {
    const { name: NAME } = s;
    const index = new PredictionIndex(localDynamoClients(s.runtime.dynamodbEndpoint).doc, 'prediction-index');
    const severe = severeAlarm();
    expect(severe?.ruleText).toMatch(/ErrorRate.*OR.*PerformanceDrop.*AND \(NOT \(ALARM\(.*Drift/);

    // Version 1 in Production (what the template's version serves); version 2 canary-deployed to 100%.
    const v1 = await register(trainTiny('gbdt', 5), 0.9);
    await s.call('POST', 'model-versions/transition-stage', { name: NAME, version: v1, stage: 'Production' });
    const previous = await liveVersion();
    const model = trainTiny('logistic', 9);
    const v2 = await register(model, 0.95);
    const deployed = await s.runtime.stepFunctions.run(s.deploymentMachine, {
      name: `deploy-${NAME}-${v2}-${Date.now()}`,
      input: { request: { model: NAME, version: v2, steps: [100], bakeSeconds: 0 } },
    });
    expect(deployed.status, JSON.stringify(deployed.error)).toBe('SUCCEEDED');
    const live = await liveVersion();
    expect(live).not.toBe(previous);

    // Traffic on version 2; the log shipper fills the prediction index from the prediction log.
    const answers: { request_id: string; predictions: number[] }[] = [];
    for (let i = 0; i < 24; i++) {
      const res = await s.call('POST', `/v1/models/${NAME}/predict`, { instances: model.rows });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.model_version).toBe(v2);
      answers.push(res.json);
    }
    const ids = answers.map((a) => a.request_id);
    await until('the prediction index to hold every request', async () =>
      (await index.requests(ids)).size === ids.length ? true : undefined,
    );

    // The outcomes, days later: the opposite of what version 2 predicted.
    const labelled = await s.call('POST', '/v1/labels', {
      labels: answers.map((a) => ({
        request_id: a.request_id,
        label: a.predictions.map((p) => (p >= 0.5 ? 0 : 1)),
      })),
    });
    expect(labelled).toEqual({ status: 200, json: { received: 24, written: 24, unchanged: 0 } });

    // The scheduled job (invoked as its EventBridge rule would): AUC far below the test AUC of 0.95.
    const report = (await s.runtime.host.invoke(fnOf('lambdas/monitoring/performance/job-handler.ts'), {
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
      const t = (await s.registry.getVersion(NAME, v2))?.tags ?? {};
      return t['mlops.deployment.status'] === 'rolled_back' ? t : undefined;
    });
    expect(await liveVersion()).toBe(previous);
    expect(tags['mlops.deployment.rolled_back_by']).toBe(severe?.name);
    expect(tags['mlops.deployment.rollback_reason']).toMatch(
      new RegExp(
        `^severe alarm ${severe?.name}: AlarmRule true: .*PerformanceDrop.* is ALARM \\(Threshold Crossed`,
      ),
    );
    const status = (await s.call('GET', `/v1/deployments/${NAME}`)).json;
    expect(status.live.lambda_version).toBe(previous);
  }, 300_000);

  it('stops a canary under way before rolling it back, so no later step moves traffic to it again', async () => {
    const { name: NAME } = s;
    const severe = severeAlarm();
    const before = await s.alias();
    expect(before.weights).toEqual({});
    // The previous test's rollback is an hour old: the action's cooldown no longer holds it back.
    const earlier = (await s.registry.listVersions(NAME)).filter(
      (v) => v.tags['mlops.deployment.rolled_back_at'],
    );
    for (const v of earlier) {
      await s.registry.updateVersion(NAME, v.version, {
        setTags: { 'mlops.deployment.rolled_back_at': new Date(Date.now() - 3_600_000).toISOString() },
        last_updated_timestamp: Date.now(),
      });
    }

    const version = await register(trainTiny('logistic', 13), 0.95);
    const started = await s.call('POST', '/v1/deployments', {
      model: NAME,
      version,
      steps: [50, 100],
      bake_seconds: 600,
    });
    expect(started.status, JSON.stringify(started.json)).toBe(200);
    const record = await until('the canary to carry 50%', async () => {
      const d = (await s.call('GET', `/v1/deployments/${NAME}`)).json.deployments?.find(
        (x: { version: string }) => x.version === version,
      );
      return d?.traffic === '50' ? d : undefined;
    });
    expect(record).toMatchObject({ status: 'canary', execution: started.json.execution_name });
    expect((await s.alias()).weights).toEqual({ [record.lambda_version]: 0.5 });

    // What CloudWatch sends the composite's Lambda action when it goes to ALARM.
    const outcome = (await s.runtime.host.invoke(fnOf('lambdas/monitoring/performance/severe-handler.ts'), {
      alarmData: {
        alarmName: severe?.name,
        state: { value: 'ALARM', reason: 'test: the canary fails requests' },
        previousState: { value: 'OK' },
      },
    })) as SevereOutcome;
    expect(outcome).toMatchObject({
      action: 'rolled_back',
      version,
      liveLambdaVersion: before.version,
      stoppedExecution: started.json.execution_name,
    });
    const execution = s.runtime.stepFunctions.describe(s.deploymentMachine, started.json.execution_name);
    expect(execution?.status).toBe('ABORTED');
    expect(execution?.error).toMatchObject({ Error: 'SevereAlarmRollback' });
    expect(await s.alias()).toEqual(before);
    const tags = (await s.registry.getVersion(NAME, version))?.tags ?? {};
    expect(tags).toMatchObject({
      'mlops.deployment.status': 'rolled_back',
      'mlops.deployment.traffic': '0',
      'mlops.deployment.rolled_back_by': severe?.name,
      'mlops.deployment.rollback_reason': `severe alarm ${severe?.name}: test: the canary fails requests`,
    });
  }, 300_000);
});
