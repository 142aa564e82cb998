import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CategoricalAccumulator,
  DEFAULT_SKETCH,
  NumericAccumulator,
} from '../../lambdas/monitoring/drift/accumulators';
import { categoricalScores, numericScores } from '../../lambdas/monitoring/drift/compare';
import { kolmogorovSf } from '../../lambdas/monitoring/drift/kolmogorov';
import { chiSquareSf } from '../../lambdas/monitoring/drift/special';
import { type SampleSpec, sample } from './support/lcg';

interface NumericVector {
  name: string;
  baseline: number[] | SampleSpec;
  current: number[] | SampleSpec;
  ks_statistic: number;
  ks_pvalue: number;
  ks_method: 'exact' | 'asymp';
  psi: number;
  wasserstein: number;
  wasserstein_normalized: number;
}
interface CategoricalVector {
  name: string;
  baseline: Record<string, number>;
  current: Record<string, number>;
  chi2_statistic: number;
  chi2_pvalue: number;
  dof: number;
  jensenshannon: number;
  psi: number;
}
const vectors = JSON.parse(readFileSync(new URL('./reference/vectors.json', import.meta.url), 'utf8')) as {
  numeric: NumericVector[];
  categorical: CategoricalVector[];
  kstwo: { n: number; x: number; sf: number }[];
  chi2_sf: { x: number; dof: number; sf: number }[];
};

function summarize(values: Float64Array) {
  const acc = new NumericAccumulator(DEFAULT_SKETCH);
  acc.addMany(values);
  return acc.finish();
}

function categories(counts: Record<string, number>) {
  const acc = new CategoricalAccumulator(DEFAULT_SKETCH);
  for (const [k, c] of Object.entries(counts)) for (let i = 0; i < c; i++) acc.add(k);
  return acc.finish();
}

// Reference: SciPy (Debian python3-scipy) via reference/make_vectors.py.
describe('drift statistics match SciPy', () => {
  it.each(vectors.numeric.map((v) => [v.name, v] as const))('numeric: %s', (_name, v) => {
    const s = numericScores(summarize(sample(v.baseline)), summarize(sample(v.current)), 4096);
    expect(s.exact).toBe(true);
    expect(Math.abs(s.ks.statistic - v.ks_statistic)).toBeLessThan(1e-9);
    expect(s.ks.method).toBe(v.ks_method);
    expect(Math.abs(s.ks.pValue - v.ks_pvalue)).toBeLessThan(1e-6);
    expect(Math.abs(s.psi - v.psi)).toBeLessThan(1e-9);
    expect(Math.abs(s.wasserstein - v.wasserstein)).toBeLessThan(1e-9);
    expect(Math.abs(s.wassersteinNormalized - v.wasserstein_normalized)).toBeLessThan(1e-9);
  });

  it.each(vectors.kstwo.map((v) => [v.n, v.x, v] as const))('Kolmogorov sf, n = %d, x = %d', (_n, _x, v) => {
    expect(Math.abs(kolmogorovSf(v.n, v.x) - v.sf)).toBeLessThan(1e-6);
  });

  it.each(vectors.categorical.map((v) => [v.name, v] as const))('categorical: %s', (_name, v) => {
    const s = categoricalScores(categories(v.baseline), categories(v.current));
    expect(Math.abs(s.chiSquare.statistic - v.chi2_statistic)).toBeLessThan(
      1e-9 * Math.max(1, v.chi2_statistic),
    );
    expect(s.chiSquare.dof).toBe(v.dof);
    expect(Math.abs(s.chiSquare.pValue - v.chi2_pvalue)).toBeLessThan(1e-6);
    expect(Math.abs(s.jensenShannon - v.jensenshannon)).toBeLessThan(1e-9);
    expect(Math.abs(s.psi - v.psi)).toBeLessThan(1e-9);
  });

  it.each(vectors.chi2_sf.map((v) => [v.x, v.dof, v] as const))('chi-square sf(%d, %d)', (_x, _k, v) => {
    expect(Math.abs(chiSquareSf(v.x, v.dof) - v.sf)).toBeLessThan(1e-9);
  });
});
