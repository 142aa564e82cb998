import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventRules, matches, routeEvents, targetInput, toBusEvent } from '../../local/event-rules';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { scheduledTargets } from '../../local/scheduler';
import { seedDemo } from '../../local/start';

// The triggers the CDK app defines, read from the synthesized template and honoured locally.
let rt: LocalRuntime;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-triggers-'));
  rt = await startLocalRuntime({ port: 0, dataDir, inMemory: true });
}, 120_000);

afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('pipeline triggers from the template', () => {
  it('schedule: the rule starts the training pipeline with the configured input and trigger "schedule"', () => {
    const targets = scheduledTargets(rt.plan).filter((t) => t.stateMachine.includes('TrainingPipeline'));
    expect(targets).toHaveLength(1);
    const target = targets[0];
    expect(target?.expression).toBe('cron(0 3 ? * MON *)');
    expect(target?.stateMachine).toMatch(/TrainingPipeline/);
    expect(target?.input).toMatchObject({ trigger: 'schedule', featureService: 'purchase_propensity' });
  });

  it('drift: only a DriftDetected event from monitoring matches, and the input carries its reason', () => {
    const rule = eventRules(rt.plan).find((r) => r.stateMachine.includes('TrainingPipeline'));
    expect(rule).toBeDefined();
    const drift = toBusEvent(
      {
        source: 'mlops.monitoring',
        detailType: 'DriftDetected',
        detail: { reason: 'psi(age)=0.31' },
        time: '2026-11-26T00:00:00Z',
      },
      'e1',
    );
    const other = toBusEvent(
      { source: 'mlops.registry', detailType: 'DriftDetected', detail: {}, time: '' },
      'e2',
    );
    expect(matches(rule!.pattern, drift)).toBe(true);
    expect(matches(rule!.pattern, other)).toBe(false);
    expect(targetInput(rule!, drift)).toMatchObject({
      trigger: 'drift',
      reason: 'psi(age)=0.31',
      modelName: 'purchase-propensity',
    });
  });

  it('drift: an event published locally starts the pipeline, as EventBridge would', async () => {
    const seed = await seedDemo(rt, { users: 200, seed: 3 });
    const lines: string[] = [];
    const stop = routeEvents(rt.plan, dataDir, rt.stepFunctions, (l) => lines.push(l));
    try {
      mkdirSync(join(dataDir, 'events'), { recursive: true });
      // The schedule's default entity rows key does not exist here: the run fails fast in
      // Start Run, which is enough to prove the rule fired with the drift input.
      appendFileSync(
        join(dataDir, 'events', 'events.jsonl'),
        `${JSON.stringify({ source: 'mlops.monitoring', detailType: 'DriftDetected', detail: { reason: 'psi(age)=0.4' }, time: new Date().toISOString() })}\n`,
      );
      const deadline = Date.now() + 30_000;
      while (!lines.some((l) => /: (SUCCEEDED|FAILED)/.test(l)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      stop();
    }
    expect(seed.entityRows).toMatch(/^labels\//);
    expect(lines[0]).toMatch(/mlops\.monitoring\/DriftDetected matched .*DriftTrigger/);
    const name = /starting (\S+)/.exec(lines[0] ?? '')?.[1] ?? '';
    const record = rt.stepFunctions.describe('TrainingPipeline', name);
    expect(record?.input).toMatchObject({ trigger: 'drift', reason: 'psi(age)=0.4' });
  });
});
