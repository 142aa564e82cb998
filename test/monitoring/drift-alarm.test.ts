import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWindow } from '../../lambdas/monitoring/log/log-store';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { routeEvents } from '../../local/event-rules';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { scheduledTargets } from '../../local/scheduler';
import type { CfnTemplate } from '../../local/template';
import { type TinyModel, trainTiny } from '../serving/support';
import { apiCall, type Row, serveWithProfile, tinyRows } from './support/served-model';

// The whole path on the local runtime, from the synthesized template: predictions through the
// API, the predict function's log delivered by its subscription to the shipper (S3 layout),
// the drift job started as its schedule starts it, its metrics evaluated by the template's
// alarms, and its DriftDetected event routed by the pipeline's rule.
const NAME = `drift-${Date.now().toString(36)}`;
const ROWS = 2000;
let model: TinyModel;
let template: CfnTemplate;

const call = (rt: LocalRuntime, method: string, path: string, body?: unknown) =>
  apiCall(rt.url, method, path, body);

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Registers the tiny model with its baseline profile (as training logs it) and moves it to Production. */
const register = (rt: LocalRuntime) => serveWithProfile(rt.url, NAME, model, tinyRows(5000, 1));

/** Sends traffic through the predict route and waits until the shipper has stored all of it. */
async function serve(rt: LocalRuntime, traffic: Row[]): Promise<void> {
  for (let from = 0; from < traffic.length; from += 500) {
    const res = await call(rt, 'POST', `/v1/models/${NAME}/predict`, {
      instances: traffic.slice(from, from + 500),
    });
    expect(res.status).toBe(200);
  }
  const store = new FsObjectStore(join(rt.dataDir, 's3'));
  await until('the shipper to store the log', async () => {
    let n = 0;
    for await (const _ of readWindow(store, 'monitoring', NAME, Date.now() - 3_600_000, Date.now() + 1)) n++;
    return n >= traffic.length ? n : undefined;
  });
}

/** Runs the drift job's state machine as its EventBridge schedule rule starts it (target and input from the template). */
async function runScheduledJob(rt: LocalRuntime) {
  const target = scheduledTargets(rt.plan).find((t) => /DriftJob/.test(t.stateMachine));
  expect(target?.expression).toBe('rate(1 hour)');
  expect(target?.input).toEqual({ windowHours: 24 });
  return rt.stepFunctions.run(target!.stateMachine, {
    name: `schedule-${Date.now()}`,
    input: target!.input as never,
  });
}

function alarmId(rt: LocalRuntime, metric: string): string {
  const found = Object.entries(rt.plan.template.Resources).find(
    ([, r]) =>
      r.Type === 'AWS::CloudWatch::Alarm' &&
      r.Properties?.MetricName === metric &&
      r.Properties?.Namespace === 'ServerlessMlops/Monitoring',
  );
  return found![0];
}

async function alarmState(rt: LocalRuntime, name: string): Promise<string | undefined> {
  const d = await rt.alarms.describe({ AlarmNames: [name], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] });
  return [...d.MetricAlarms, ...d.CompositeAlarms][0]?.StateValue;
}

/** `aggregateRows` below the traffic sends the window through the SQL path (DuckDB locally). */
async function start(dataDir: string, aggregateRows?: number): Promise<LocalRuntime> {
  return startLocalRuntime({
    port: 0,
    dataDir,
    inMemory: true,
    config: {
      serving: { modelName: NAME },
      ...(aggregateRows ? { monitoring: { aggregateRows } } : {}),
    },
    // The drift alarms' one-hour period becomes one second.
    alarmTimeScale: 1 / 3600,
    // The first runtime's template is reused unless this one's configuration differs.
    ...(template && !aggregateRows ? { template } : {}),
  });
}

beforeAll(() => {
  model = trainTiny('gbdt', 5);
});

describe('unshifted traffic on the local runtime', () => {
  let rt: LocalRuntime;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mlops-drift-a-'));
    rt = await start(dataDir);
    template = rt.plan.template;
    await register(rt);
  }, 240_000);
  afterAll(async () => {
    await rt?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('of the same size as the shifted case raises no alarm and starts no retraining', async () => {
    await serve(rt, tinyRows(ROWS, 2));
    const lines: string[] = [];
    const stop = routeEvents(rt.plan, dataDir, rt.stepFunctions, (l) => lines.push(l));
    try {
      const run = await runScheduledJob(rt);
      expect(run.status).toBe('SUCCEEDED');
      // Below the configured row threshold the state machine streams the window through the function.
      expect(run.output).toMatchObject({ source: 'stream' });
      const [result] = (run.output as { results: Record<string, unknown>[] }).results;
      expect(result).toMatchObject({
        model: NAME,
        version: '1',
        rows: ROWS,
        verdict: 'no_drift',
        drifted: false,
        published: false,
      });
      const psi = alarmId(rt, 'MaxPsi');
      expect(
        await until('the PSI alarm to be evaluated', async () =>
          (await alarmState(rt, psi)) === 'OK' ? 'OK' : undefined,
        ),
      ).toBe('OK');
      expect(await alarmState(rt, alarmId(rt, 'DriftedShare'))).toBe('OK');
      expect(await alarmState(rt, alarmId(rt, 'PredictionPsi'))).toBe('OK');
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      stop();
    }
    const events = join(dataDir, 'events', 'events.jsonl');
    const published = (existsSync(events) ? readFileSync(events, 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).detailType);
    expect(published).toContain('CloudWatch Alarm State Change');
    expect(published).not.toContain('DriftDetected');
    expect(lines.filter((l) => /DriftTrigger/.test(l))).toEqual([]);
  }, 180_000);
});

describe('traffic shifted by one standard deviation on the local runtime, aggregated in SQL', () => {
  let rt: LocalRuntime;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mlops-drift-b-'));
    rt = await start(dataDir, ROWS / 2);
    await register(rt);
  }, 240_000);
  afterAll(async () => {
    await rt?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('raises the drift alarms, notifies the alert topic and starts the retraining pipeline once', async () => {
    await serve(rt, tinyRows(ROWS, 2, 10));
    const lines: string[] = [];
    const stop = routeEvents(rt.plan, dataDir, rt.stepFunctions, (l) => lines.push(l));
    try {
      const run = await runScheduledJob(rt);
      expect(run.status).toBe('SUCCEEDED');
      // Past the threshold the template's Choice state sends it to the SQL step (DuckDB locally).
      expect(run.output).toMatchObject({ source: 'sql' });
      const [result] = (run.output as { results: Record<string, unknown>[] }).results;
      expect(result).toMatchObject({
        model: NAME,
        version: '1',
        rows: ROWS,
        verdict: 'drift',
        drifted: true,
        published: true,
      });
      expect(String((result!.reasons as string[]).join('; '))).toMatch(/psi\(spend\)=/);

      const psi = alarmId(rt, 'MaxPsi');
      await until(
        'the PSI alarm',
        async () => ((await alarmState(rt, psi)) === 'ALARM' ? true : undefined),
        20_000,
      );
      expect(await alarmState(rt, alarmId(rt, 'DriftedShare'))).toBe('ALARM');
      // CDK names composite alarms (<stack><path>), unlike the metric alarms above.
      const composites = await rt.alarms.describe({ AlarmTypes: ['CompositeAlarm'] });
      const composite = composites.CompositeAlarms.find((a) =>
        /MonitoringDriftAlarm/.test(a.AlarmName),
      )!.AlarmName;
      await until(
        'the composite drift alarm',
        async () => ((await alarmState(rt, composite)) === 'ALARM' ? true : undefined),
        20_000,
      );
      const notices = readFileSync(join(dataDir, 'events', 'notifications.jsonl'), 'utf8');
      expect(notices).toContain(`"ALARM: \\"${psi}\\""`);

      // The retraining: the pipeline's drift rule matched the job's event and started a run.
      const started = await until('the pipeline to start', () =>
        lines.find((l) => /DriftDetected matched .*DriftTrigger/.test(l)),
      );
      const name = /starting (\S+)/.exec(started)![1]!;
      const execution = rt.stepFunctions.describe('TrainingPipeline', name);
      expect(execution?.input).toMatchObject({
        trigger: 'drift',
        reason: expect.stringMatching(new RegExp(`^${NAME} v1: .*psi\\(spend\\)`)),
      });
      await until('the pipeline run to end', () => lines.find((l) => /: (SUCCEEDED|FAILED)/.test(l)));

      // The next scheduled run sees the same drift and does not retrain again.
      const second = await runScheduledJob(rt);
      expect((second.output as { results: Record<string, unknown>[] }).results[0]).toMatchObject({
        drifted: true,
        published: false,
      });
      await new Promise((r) => setTimeout(r, 1500));
      expect(lines.filter((l) => /DriftTrigger/.test(l))).toHaveLength(1);
    } finally {
      stop();
    }
  }, 180_000);
});
