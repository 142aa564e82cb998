import { describe, expect, it } from 'vitest';
import {
  estimateMonthlyCost,
  IDLE,
  runsPerMonth,
  type TemplateLike,
} from '../../lambdas/platform/cost/estimate';
import { PRICES, SECONDS_PER_MONTH } from '../../lambdas/platform/cost/prices';
import { synthTemplate } from '../../local/synth';

describe('schedules', () => {
  it.each([
    ['rate(1 hour)', 730],
    ['rate(30 minutes)', 1460],
    ['rate(1 day)', 730 / 24],
    ['cron(0 3 ? * MON *)', 730 / 24 / 7],
    ['cron(0 3 ? * MON,THU *)', (2 * 730) / 24 / 7],
    ['cron(0/15 * * * ? *)', 4 * 24 * (730 / 24)],
    ['cron(0 8-17 ? * MON-FRI *)', (10 * 5 * 730) / 24 / 7],
  ])('%s runs %f times a month', (expr, runs) => {
    expect(runsPerMonth(expr)).toBeCloseTo(runs, 6);
  });

  it('an expression it cannot read gives no count', () => {
    expect(runsPerMonth('at(2026-01-01T00:00:00)')).toBeUndefined();
    expect(runsPerMonth('cron(0 3 * *)')).toBeUndefined();
  });
});

describe('a small template', () => {
  const template: TemplateLike = {
    Resources: {
      KeyA: { Type: 'AWS::KMS::Key' },
      KeyB: { Type: 'AWS::KMS::Key' },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 1024 } },
      Live: {
        Type: 'AWS::Lambda::Alias',
        Properties: {
          Name: 'live',
          FunctionName: { Ref: 'Fn' },
          ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 },
        },
      },
      Errors: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Errors' } },
      Math: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: { Metrics: [{ MetricStat: {} }, { MetricStat: {} }, { Expression: 'a/b' }] },
      },
      Severe: { Type: 'AWS::CloudWatch::CompositeAlarm' },
      Hourly: {
        Type: 'AWS::Events::Rule',
        Properties: {
          ScheduleExpression: 'rate(1 hour)',
          Targets: [{ Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] } }],
        },
      },
    },
  };

  it('prices what the template fixes, line by line', () => {
    const idle = estimateMonthlyCost(template, { ...IDLE, storedGb: 0 });
    const byItem = Object.fromEntries(idle.lines.map((l) => [l.item, l]));
    expect(byItem['customer managed keys']).toMatchObject({ quantity: 2, usd: 2 });
    // A metric-math alarm pays for each metric it reads.
    expect(byItem['metric alarms']).toMatchObject({ quantity: 3 });
    expect(byItem['metric alarms']!.usd).toBeCloseTo(0.3, 10);
    expect(byItem['composite alarms']).toMatchObject({ quantity: 1, usd: 0.5 });
    const pc = byItem['provisioned concurrency (live)']!;
    expect(pc.quantity).toBe(2 * 1 * SECONDS_PER_MONTH);
    expect(pc.usd).toBeCloseTo(2 * SECONDS_PER_MONTH * PRICES.lambda.provisionedPerGbSecond, 6);
    const hourly = byItem['scheduled Fn (rate(1 hour))']!;
    expect(hourly.quantity).toBe(730);
    expect(hourly.usd).toBeCloseTo(730 * (0.2 / 1e6 + 20 * 1 * PRICES.lambda.perGbSecondX86), 8);
    expect(idle.lines.every((l) => l.fixed)).toBe(true);
    expect(idle.totalUsd).toBeCloseTo(
      idle.lines.reduce((s, l) => s + l.usd, 0),
      10,
    );
  });

  it('traffic adds usage lines and leaves the fixed part alone', () => {
    const idle = estimateMonthlyCost(template, IDLE);
    const low = estimateMonthlyCost(template, { ...IDLE, predictionsPerDay: 1000 });
    const high = estimateMonthlyCost(template, { ...IDLE, predictionsPerDay: 100_000 });
    expect(low.fixedUsd).toBeCloseTo(idle.fixedUsd, 10);
    expect(idle.usageUsd).toBe(0);
    expect(high.usageUsd).toBeGreaterThan(low.usageUsd);
    const api = low.lines.find((l) => l.item === 'REST API requests')!;
    expect(api.quantity).toBeCloseTo((1000 * 730) / 24, 6);
    expect(api.usd).toBeCloseTo((api.quantity * 3.5) / 1e6, 10);
  });

  it('a price factor scales every line', () => {
    const base = estimateMonthlyCost(template, IDLE);
    const eu = estimateMonthlyCost(template, { ...IDLE, priceFactor: 1.1 });
    expect(eu.totalUsd).toBeCloseTo(base.totalUsd * 1.1, 8);
  });
});

describe('the synthesized platform', () => {
  it('counts every key, alarm and dashboard the template holds', () => {
    const template = synthTemplate({ stage: 'dev' }) as unknown as TemplateLike;
    const count = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type).length;
    const idle = estimateMonthlyCost(template, IDLE);
    expect(idle.counted.kmsKeys).toBe(count('AWS::KMS::Key'));
    expect(idle.counted.alarmMetrics).toBeGreaterThanOrEqual(count('AWS::CloudWatch::Alarm'));
    expect(idle.counted.dashboards).toBe(count('AWS::CloudWatch::Dashboard'));
    // The weekly training pipeline is a fixed cost; no line is usage when nothing is served.
    expect(idle.counted.scheduledPipelineRunsPerMonth).toBeCloseTo(730 / 24 / 7, 2);
    expect(idle.usageUsd).toBe(0);
    const low = estimateMonthlyCost(template, { ...IDLE, predictionsPerDay: 10_000 });
    expect(low.totalUsd).toBeGreaterThan(idle.totalUsd);
    expect(low.lines.find((l) => l.item === 'predict invocations')?.quantity).toBeCloseTo(
      (10_000 * 730) / 24,
      6,
    );
  });
});
