import { InvalidParameterError } from '../../platform/errors';
import type { RouteBinding } from '../../platform/http/route';
import { unsafeTextReason } from '../domain/validation';

/**
 * The first string in a request that cannot be stored as sent (U+0000, an unpaired
 * surrogate), with its field path, or undefined.
 */
function findUnsafeText(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') {
    const reason = unsafeTextReason(value);
    return reason ? `Invalid value for parameter '${path || '(body)'}': it ${reason}.` : undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeText(value[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = findUnsafeText(v, path ? `${path}.${k}` : k);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Wraps bindings so every string of a validated request, keys and values alike, is checked
 * before the implementation runs: one rule for all fields instead of one per field.
 *
 * @example
 * return guardText([bind(r.createRun, impl), ...]);
 */
export function guardText(bindings: RouteBinding[]): RouteBinding[] {
  return bindings.map((b) => ({
    spec: b.spec,
    impl: (input, ctx) => {
      const problem = findUnsafeText(input, '');
      if (problem) throw new InvalidParameterError(problem);
      return b.impl(input, ctx);
    },
  }));
}
