import { describe, expect, it } from 'vitest';
import { scheduledEvent, scheduledFunctions, scheduledTargets, startSchedules } from '../../local/scheduler';
import type { LocalStepFunctions } from '../../local/stepfunctions';
import { synthTemplate } from '../../local/synth';
import { readTemplate } from '../../local/template';

describe('local schedules with a Lambda function target', () => {
  const plan = readTemplate(synthTemplate({ stage: 'local' }));

  it('are read from the template (the performance job, hourly)', () => {
    const job = scheduledFunctions(plan).find((f) => /PerformanceJob/.test(f.functionId));
    expect(job).toMatchObject({ expression: 'rate(1 hour)', input: undefined });
    expect(plan.functions.has(job!.functionId)).toBe(true);
  });

  it('are armed beside the state machine schedules when a function invoker is given', () => {
    const lines: string[] = [];
    const sfn = {} as LocalStepFunctions;
    const invoker = { invoke: async () => ({}) };
    const stop = startSchedules(plan, sfn, (l) => lines.push(l), undefined, invoker);
    stop();
    const armed = lines.filter((l) => l.includes('next run at')).length;
    expect(armed).toBe(scheduledTargets(plan).length + scheduledFunctions(plan).length);
    const without: string[] = [];
    startSchedules(plan, sfn, (l) => without.push(l))();
    expect(without.filter((l) => l.includes('next run at')).length).toBe(scheduledTargets(plan).length);
  });

  it('send the Scheduled Event EventBridge sends', () => {
    expect(scheduledEvent('Rule', new Date(Date.UTC(2026, 0, 1, 11)))).toEqual({
      version: '0',
      id: `schedule-${Date.UTC(2026, 0, 1, 11)}`,
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-01-01T11:00:00Z',
      resources: ['Rule'],
      detail: {},
    });
  });
});
