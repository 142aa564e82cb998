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

/** Equal up to floating-point summation order (1e-12 relative) in every number; everything else exactly. */
export function expectClose(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    expect(Math.abs(actual - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
      1e-12 * Math.max(1, Math.abs(expected)),
    );
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    expect(actual !== null && typeof actual === 'object', path).toBe(true);
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) {
      expectClose((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    }
    return;
  }
  expect(actual, path).toEqual(expected);
}
