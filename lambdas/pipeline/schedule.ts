import { InvalidParameterError } from '../platform/errors';

/**
 * EventBridge schedule expressions: `rate(5 minutes)` and the six-field
 * `cron(minutes hours day-of-month month day-of-week year)`, evaluated in UTC, as
 * EventBridge evaluates them. Used to validate configuration at synth time and to fire
 * the pipeline's schedule in the local runtime.
 */
export type Schedule =
  | { readonly kind: 'rate'; readonly everyMs: number }
  | { readonly kind: 'cron'; readonly fields: CronFields };

interface CronFields {
  readonly minutes: Set<number>;
  readonly hours: Set<number>;
  /** undefined = `?` */
  readonly dayOfMonth?: Set<number>;
  readonly lastDayOfMonth: boolean;
  readonly months: Set<number>;
  /** 1 = Sunday ... 7 = Saturday, as EventBridge numbers them; undefined = `?` */
  readonly dayOfWeek?: Set<number>;
  readonly years?: Set<number>;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function parseField(
  text: string,
  name: string,
  min: number,
  max: number,
  names: string[] = [],
  nameBase = 1,
): Set<number> {
  const out = new Set<number>();
  const value = (t: string): number => {
    const idx = names.indexOf(t.toUpperCase());
    if (idx >= 0) return idx + nameBase;
    if (!/^\d+$/.test(t))
      throw new InvalidParameterError(`cron ${name} field: '${t}' is not a number or name`);
    const n = Number(t);
    if (n < min || n > max)
      throw new InvalidParameterError(`cron ${name} field: ${n} is outside ${min}-${max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new InvalidParameterError(`cron ${name} field: bad step in '${part}'`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [min, max];
    else if (range.includes('-')) {
      const [a, b] = range.split('-') as [string, string];
      [lo, hi] = [value(a), value(b)];
      if (lo > hi) throw new InvalidParameterError(`cron ${name} field: range '${range}' runs backwards`);
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/**
 * Parses a schedule expression; throws InvalidParameterError naming the field at fault.
 *
 * @example
 * parseSchedule('cron(0 3 ? * MON *)'); // Mondays 03:00 UTC
 */
export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2] as string;
    if (n < 1) throw new InvalidParameterError(`schedule '${expression}': the rate must be at least 1`);
    if ((n === 1) !== !unit.endsWith('s')) {
      throw new InvalidParameterError(
        `schedule '${expression}': write 'rate(1 ${unit.replace(/s$/, '')})' or 'rate(${n} ${unit.replace(/s?$/, 's')})'`,
      );
    }
    const ms = unit.startsWith('minute') ? 60_000 : unit.startsWith('hour') ? 3_600_000 : 86_400_000;
    return { kind: 'rate', everyMs: n * ms };
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  if (!cron) {
    throw new InvalidParameterError(
      `schedule '${expression}' must be 'cron(min hour day-of-month month day-of-week year)' or 'rate(N minutes|hours|days)'`,
    );
  }
  const parts = (cron[1] as string).trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new InvalidParameterError(
      `schedule '${expression}': cron needs 6 fields (min hour day-of-month month day-of-week year), got ${parts.length}`,
    );
  }
  const [mi, h, dom, mon, dow, yr] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    throw new InvalidParameterError(
      `schedule '${expression}': exactly one of day-of-month and day-of-week must be '?'`,
    );
  }
  return {
    kind: 'cron',
    fields: {
      minutes: parseField(mi, 'minutes', 0, 59),
      hours: parseField(h, 'hours', 0, 23),
      dayOfMonth: dom === '?' || dom === 'L' ? undefined : parseField(dom, 'day-of-month', 1, 31),
      lastDayOfMonth: dom === 'L',
      months: parseField(mon, 'month', 1, 12, MONTHS),
      dayOfWeek: dow === '?' ? undefined : parseField(dow, 'day-of-week', 1, 7, DAYS),
      years: yr === '*' ? undefined : parseField(yr, 'year', 1970, 2199),
    },
  };
}

/** The first time strictly after `after` at which the schedule fires (minute resolution, UTC). */
export function nextFireTime(schedule: Schedule, after: Date, anchor: Date = after): Date {
  if (schedule.kind === 'rate') {
    const elapsed = after.getTime() - anchor.getTime();
    const n = Math.floor(elapsed / schedule.everyMs) + 1;
    return new Date(anchor.getTime() + n * schedule.everyMs);
  }
  const f = schedule.fields;
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  // Bounded search: at most ~5 years of minutes, skipping whole days/hours when they cannot match.
  for (let guard = 0; guard < 5 * 366 * 24 * 60; guard++) {
    const year = t.getUTCFullYear();
    if (f.years && ![...f.years].some((y) => y >= year)) break;
    const dayOk =
      (!f.years || f.years.has(year)) &&
      f.months.has(t.getUTCMonth() + 1) &&
      (f.dayOfWeek ? f.dayOfWeek.has(t.getUTCDay() + 1) : true) &&
      (f.lastDayOfMonth
        ? new Date(Date.UTC(year, t.getUTCMonth() + 1, 0)).getUTCDate() === t.getUTCDate()
        : f.dayOfMonth
          ? f.dayOfMonth.has(t.getUTCDate())
          : true);
    if (!dayOk) {
      t.setUTCHours(0, 0, 0, 0);
      t.setUTCDate(t.getUTCDate() + 1);
      continue;
    }
    if (!f.hours.has(t.getUTCHours())) {
      t.setUTCMinutes(0);
      t.setUTCHours(t.getUTCHours() + 1);
      continue;
    }
    if (f.minutes.has(t.getUTCMinutes())) return t;
    t.setUTCMinutes(t.getUTCMinutes() + 1);
  }
  throw new InvalidParameterError('schedule never fires again');
}
