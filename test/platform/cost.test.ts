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

describe("the console's distribution and sign-in", () => {
  const template: TemplateLike = {
    Resources: {
      Site: { Type: 'AWS::CloudFront::Distribution' },
      Users: { Type: 'AWS::Cognito::UserPool', Properties: {} },
      Staff: { Type: 'AWS::Cognito::UserPool', Properties: { UserPoolTier: 'PLUS' } },
      Identities: { Type: 'AWS::Cognito::IdentityPool' },
    },
  };
  const byItem = (e: ReturnType<typeof estimateMonthlyCost>) =>
    Object.fromEntries(e.lines.map((l) => [l.item, l]));

  it('costs nothing idle: CloudFront and Cognito bill per use', () => {
    const idle = estimateMonthlyCost(template, { ...IDLE, storedGb: 0 });
    expect(idle.lines).toEqual([]);
    expect(idle.counted).toMatchObject({ distributions: 1, userPools: 2 });
  });

  it("prices the console's requests, bytes out and monthly active users, with the free tiers noted", () => {
    const users = 40;
    const profile = { ...IDLE, storedGb: 0, consoleUsers: users };
    const lines = byItem(estimateMonthlyCost(template, profile));
    const requests = users * (profile.consoleFileRequestsPerUser + profile.consoleApiCallsPerUser);
    expect(lines['console HTTPS requests']).toMatchObject({ service: 'CloudFront', quantity: requests });
    expect(lines['console HTTPS requests']!.usd).toBeCloseTo((requests / 10_000) * 0.01, 10);
    expect(lines['console HTTPS requests']!.note).toContain('10,000,000 requests');
    const gb = (requests * profile.consoleBytesPerRequest) / 1e9;
    expect(lines['console data transfer out']!.quantity).toBeCloseTo(gb, 10);
    expect(lines['console data transfer out']!.usd).toBeCloseTo(gb * 0.085, 10);
    expect(lines['console data transfer out']!.note).toContain('1,024 GB');
    // Forwarded API calls are API Gateway requests too.
    const api = users * profile.consoleApiCallsPerUser;
    expect(lines['REST API requests from the console']).toMatchObject({ quantity: api });
    expect(lines['REST API requests from the console']!.usd).toBeCloseTo((api * 3.5) / 1e6, 10);
    // The pool's plan sets the price: Essentials when the template names none, Plus has no free MAUs.
    const essentials = lines['user pool Users (essentials) monthly active users']!;
    expect(essentials).toMatchObject({ service: 'Cognito', quantity: users, unit: 'MAUs' });
    expect(essentials.usd).toBeCloseTo(users * 0.015, 10);
    expect(essentials.note).toContain('first 10,000 MAUs');
    const plus = lines['user pool Staff (plus) monthly active users']!;
    expect(plus.usd).toBeCloseTo(users * 0.02, 10);
    expect(plus.note).toBeUndefined();
    expect(lines['identity pool credentials']).toMatchObject({ usd: 0, note: 'no charge' });
  });

  it('a template without the console has no console lines, whatever the users', () => {
    const none = estimateMonthlyCost({ Resources: {} }, { ...IDLE, storedGb: 0, consoleUsers: 40 });
    expect(none.lines).toEqual([]);
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
    // The console is on by default: its distribution and user pool are read from the template.
    expect(idle.counted).toMatchObject({
      distributions: count('AWS::CloudFront::Distribution'),
      userPools: count('AWS::Cognito::UserPool'),
    });
    expect(idle.counted.distributions).toBe(1);
    const withUsers = estimateMonthlyCost(template, { ...IDLE, consoleUsers: 10 });
    const services = new Set(withUsers.lines.filter((l) => !l.fixed).map((l) => l.service));
    expect(services).toEqual(new Set(['CloudFront', 'Cognito', 'API Gateway', 'Lambda']));
    expect(withUsers.fixedUsd).toBeCloseTo(idle.fixedUsd, 10);
  });
});
