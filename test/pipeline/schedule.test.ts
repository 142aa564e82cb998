import { describe, expect, it } from 'vitest';
import { nextFireTime, parseSchedule } from '../../lambdas/pipeline/schedule';

const next = (expr: string, after: string) =>
  nextFireTime(parseSchedule(expr), new Date(after)).toISOString();

describe('EventBridge schedule expressions', () => {
  it('fire weekly crons on the named day and hour, in UTC', () => {
    // 2026-11-26 is a Thursday; the next Monday 03:00 is 2026-11-30.
    expect(next('cron(0 3 ? * MON *)', '2026-11-26T12:00:00Z')).toBe('2026-11-30T03:00:00.000Z');
    // Exactly at a fire time, the next one is a week later.
    expect(next('cron(0 3 ? * MON *)', '2026-11-30T03:00:00Z')).toBe('2026-12-07T03:00:00.000Z');
  });

  it('handle steps, ranges, lists, last day of month and years', () => {
    expect(next('cron(0/15 * * * ? *)', '2026-01-01T10:07:00Z')).toBe('2026-01-01T10:15:00.000Z');
    expect(next('cron(30 9 ? * MON-FRI *)', '2026-11-28T00:00:00Z')).toBe('2026-11-30T09:30:00.000Z');
    expect(next('cron(0 0 L * ? *)', '2026-02-10T00:00:00Z')).toBe('2026-02-28T00:00:00.000Z');
    expect(next('cron(0 12 1 JAN,JUL ? 2027)', '2026-03-01T00:00:00Z')).toBe('2027-01-01T12:00:00.000Z');
  });

  it('fire rates from their anchor', () => {
    expect(
      nextFireTime(
        parseSchedule('rate(6 hours)'),
        new Date('2026-01-01T07:00:00Z'),
        new Date('2026-01-01T00:00:00Z'),
      ).toISOString(),
    ).toBe('2026-01-01T12:00:00.000Z');
  });

  it('reject malformed expressions with the field at fault', () => {
    expect(() => parseSchedule('cron(0 3 * *)')).toThrow(/6 fields/);
    expect(() => parseSchedule('cron(61 3 ? * MON *)')).toThrow(/minutes field: 61/);
    expect(() => parseSchedule('cron(0 3 ? * FUNDAY *)')).toThrow(/day-of-week field/);
    expect(() => parseSchedule('cron(0 3 * * * *)')).toThrow(/exactly one/);
    expect(() => parseSchedule('rate(1 hours)')).toThrow(/rate\(1 hour\)/);
    expect(() => parseSchedule('every day')).toThrow(/must be 'cron/);
    expect(() =>
      nextFireTime(parseSchedule('cron(0 0 1 1 ? 2001)'), new Date('2026-01-01T00:00:00Z')),
    ).toThrow(/never fires/);
  });
});
