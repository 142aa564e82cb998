import { InvalidParameterError } from '../platform/errors';

/** One variant's planned share of units, in the order the allocation lists them. */
export interface VariantShare {
  readonly name: string;
  readonly share: number;
}

/** Planned shares must sum to 1 within this (decimal fractions such as 0.9 + 0.1 are inexact). */
const SUM_TOLERANCE = 1e-9;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Checks an allocation: two or more uniquely named variants, each share in (0, 1], summing
 * to 1 (100%). The first variant is the control. Throws InvalidParameterError naming the fault.
 *
 * @example
 * validateAllocation([{ name: 'control', share: 0.9 }, { name: 'treatment', share: 0.1 }]);
 */
export function validateAllocation(variants: readonly VariantShare[], source = 'allocation'): VariantShare[] {
  if (variants.length < 2) {
    throw new InvalidParameterError(
      `${source} needs at least two variants (a control first, then treatments)`,
    );
  }
  const seen = new Set<string>();
  for (const v of variants) {
    if (!NAME.test(v.name)) {
      throw new InvalidParameterError(
        `${source}: variant name '${v.name.slice(0, 64)}' must be 1-64 letters, digits, '_', '.' or '-'`,
      );
    }
    if (seen.has(v.name)) throw new InvalidParameterError(`${source}: variant '${v.name}' is listed twice`);
    seen.add(v.name);
    if (!(Number.isFinite(v.share) && v.share > 0 && v.share <= 1)) {
      throw new InvalidParameterError(`${source}: share of '${v.name}' must be in (0, 1], got ${v.share}`);
    }
  }
  const sum = variants.reduce((s, v) => s + v.share, 0);
  if (Math.abs(sum - 1) > SUM_TOLERANCE) {
    throw new InvalidParameterError(
      `${source} must sum to 1 (100%), but ${variants.map((v) => `${v.name}=${v.share}`).join(',')} sums to ${round(sum)} (${round(sum * 100)}%)`,
    );
  }
  return [...variants];
}

/**
 * Parses `control=0.9,treatment=0.1` (shares as fractions) and validates it.
 *
 * @example
 * parseAllocation('control=0.9,treatment=0.1');
 */
export function parseAllocation(text: string): VariantShare[] {
  const variants = text.split(',').map((part) => {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim();
    const raw = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (eq < 0 || !/^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(raw)) {
      throw new InvalidParameterError(
        `--allocation: '${part.trim().slice(0, 64)}' is not name=share (e.g. control=0.9,treatment=0.1)`,
      );
    }
    return { name, share: Number(raw) };
  });
  return validateAllocation(variants, '--allocation');
}

function round(x: number): number {
  return Number(x.toPrecision(12));
}
