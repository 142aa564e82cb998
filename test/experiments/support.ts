import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** The reference values written by reference/make_vectors.py (SciPy and statsmodels). */
// biome-ignore lint/suspicious/noExplicitAny: the vectors file is JSON read field by field
export const vectors: any = JSON.parse(
  readFileSync(new URL('./reference/vectors.json', import.meta.url), 'utf8'),
);

/** Statistics agree to 1e-9 relative (absolute near zero). */
export function expectStat(actual: number | null | undefined, expected: number, what = ''): void {
  expect(actual, what).not.toBeNull();
  const tol = 1e-9 * Math.max(1, Math.abs(expected));
  expect(Math.abs((actual as number) - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    tol,
  );
}

/** P-values agree to 1e-6 absolute. */
export function expectP(actual: number | null | undefined, expected: number, what = ''): void {
  expect(actual, what).not.toBeNull();
  expect(Math.abs((actual as number) - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    1e-6,
  );
}

/** A seeded PRNG (mulberry32): the same experiments on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
