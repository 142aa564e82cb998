import { InvalidParameterError } from '../../platform/errors';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * Parses a duration such as `90s`, `15m`, `1h`, `7d`, `2w` (or a bare number of seconds) into
 * whole seconds. `0` means "unlimited" where a TTL is expected.
 *
 * @example
 * parseDuration('30d', 'featureViews.purchases.ttl'); // 2592000
 */
export function parseDuration(value: string | number, where: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) return value;
  } else {
    const m = /^(\d+)\s*([smhdw])?$/.exec(value.trim());
    if (m) return Number(m[1]) * (UNIT_SECONDS[m[2] ?? 's'] ?? 1);
  }
  throw new InvalidParameterError(
    `${where}: '${value}' is not a duration; write a whole number followed by s, m, h, d or w (e.g. '30d')`,
  );
}
