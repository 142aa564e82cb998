import type { DesignMatrix } from '../../lambdas/training/design/design-matrix';
import { createRng } from '../../lambdas/training/random';

/**
 * A seeded synthetic binary-classification table: `features` standard-normal columns and a
 * label drawn from a logistic model with a non-linear term, so both trainers have signal.
 */
export function syntheticBinary(
  rows: number,
  features: number,
  seed: number,
): { X: DesignMatrix; y: Float64Array } {
  const rng = createRng(seed);
  const columns = Array.from({ length: features }, () => {
    const c = new Float64Array(rows);
    for (let i = 0; i < rows; i++) c[i] = rng.normal();
    return c;
  });
  const weights = Array.from({ length: features }, (_, j) => (j % 2 === 0 ? 1 : -0.5) / (1 + j / 4));
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = 0.5 * columns[0]![i]! * columns[1]![i]!;
    for (let j = 0; j < features; j++) z += weights[j]! * columns[j]![i]!;
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { X: { names: columns.map((_, j) => `f${j}`), columns, rows }, y };
}
