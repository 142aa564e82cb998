import { describe, expect, it } from 'vitest';
import { parseAllocation } from '../../lambdas/experiments/allocation';
import { sampleRatioMismatch } from '../../lambdas/experiments/analysis/statistics';
import { assignmentPoint, assignVariant } from '../../lambdas/experiments/assignment';
import { vectors } from './support';

describe('sticky assignment', () => {
  it('reproduces the Python reference of docs/experiments.md bit for bit', () => {
    const allocation = Object.entries(vectors.assignment.allocation as Record<string, number>).map(
      ([name, share]) => ({
        name,
        share,
      }),
    );
    for (const c of vectors.assignment.cases) {
      expect(assignmentPoint(c.salt, c.unit_id)).toBe(c.point);
      expect(assignVariant(allocation, c.salt, c.unit_id)).toBe(c.variant);
    }
  });

  it('gives a unit the same variant on every call, and a new salt reshuffles units', () => {
    const allocation = parseAllocation('control=0.5,treatment=0.5');
    const units = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const first = units.map((u) => assignVariant(allocation, 'exp-1', u));
    const again = units.map((u) => assignVariant(allocation, 'exp-1', u));
    expect(again).toEqual(first);
    const otherSalt = units.map((u) => assignVariant(allocation, 'exp-2', u));
    const moved = otherSalt.filter((v, i) => v !== first[i]).length / units.length;
    // Independent experiments: about half the units land elsewhere.
    expect(moved).toBeGreaterThan(0.45);
    expect(moved).toBeLessThan(0.55);
  });

  it.each([
    ['control=0.9,treatment=0.1'],
    ['control=0.5,treatment=0.3,treatment_b=0.2'],
    ['control=0.99,treatment=0.01'],
  ])('splits 100,000 units within tolerance of %s', (text) => {
    const allocation = parseAllocation(text);
    const n = 100_000;
    const counts = new Map(allocation.map((v) => [v.name, 0]));
    for (let i = 0; i < n; i++) {
      const v = assignVariant(allocation, 'exp-tolerance', `unit-${i}`);
      counts.set(v, (counts.get(v) as number) + 1);
    }
    for (const v of allocation) {
      const share = (counts.get(v.name) as number) / n;
      const sd = Math.sqrt((v.share * (1 - v.share)) / n);
      expect(Math.abs(share - v.share), `${v.name}: ${share}`).toBeLessThan(4 * sd);
    }
    const srm = sampleRatioMismatch(
      allocation.map((v) => counts.get(v.name) as number),
      allocation.map((v) => v.share),
    );
    expect(srm.pValue).toBeGreaterThan(0.001);
  });

  it('refuses an empty unit id or salt', () => {
    const allocation = parseAllocation('control=0.9,treatment=0.1');
    expect(() => assignVariant(allocation, 'exp', '')).toThrow(/unit_id is empty/);
    expect(() => assignVariant(allocation, '', 'u1')).toThrow(/salt is empty/);
  });
});
