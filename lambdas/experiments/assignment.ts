import { createHash } from 'node:crypto';
import { InvalidParameterError } from '../platform/errors';
import type { VariantShare } from './allocation';

const TWO_64 = 2 ** 64;

/**
 * Where a unit falls in [0, 1): the first 8 bytes of SHA-256(UTF-8 of `${salt}:${unitId}`)
 * read as a big-endian unsigned 64-bit integer, divided by 2^64 (the integer is rounded to
 * the nearest double first, as Python's `int / 2**64` does). Any system can reproduce it;
 * docs/experiments.md has the Python.
 *
 * @example
 * assignmentPoint('exp-42', 'user-1'); // a number in [0, 1), the same on every call
 */
export function assignmentPoint(salt: string, unitId: string): number {
  if (salt.length === 0) throw new InvalidParameterError('the experiment salt is empty');
  if (unitId.length === 0) throw new InvalidParameterError('unit_id is empty');
  const digest = createHash('sha256').update(`${salt}:${unitId}`, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0)) / TWO_64;
}

/**
 * The sticky variant of a unit: the first variant, in allocation order, whose cumulative
 * share exceeds the unit's point; the last variant takes whatever rounding leaves above
 * the final cumulative sum.
 *
 * @example
 * assignVariant([{ name: 'control', share: 0.9 }, { name: 'treatment', share: 0.1 }], 'exp-42', 'user-1');
 */
export function assignVariant(allocation: readonly VariantShare[], salt: string, unitId: string): string {
  const u = assignmentPoint(salt, unitId);
  let cumulative = 0;
  for (const v of allocation) {
    cumulative += v.share;
    if (u < cumulative) return v.name;
  }
  return (allocation[allocation.length - 1] as VariantShare).name;
}
