import {
  chiSquareSf,
  normalPdf,
  normalQuantile,
  normalTwoSided,
  normalUpper,
  studentTQuantile,
  studentTTwoSided,
} from './special';

/**
 * The tests of the analysis, each a pure function of summary numbers. Formulas, and the
 * SciPy/statsmodels call each one matches, are in docs/experiments.md; the vectors in
 * test/experiments/reference/ check them.
 */

export type Interval = [number, number];

/**
 * Two-proportion z-test with the pooled variance under H0 (statsmodels
 * `proportions_ztest([xT, xC], [nT, nC])`). Positive z: treatment converts more.
 *
 * @example
 * twoProportionZTest(120, 1000, 100, 1000); // { z: 1.43…, pValue: 0.15… }
 */
export function twoProportionZTest(
  xT: number,
  nT: number,
  xC: number,
  nC: number,
): { z: number; pValue: number } {
  const pooled = (xT + xC) / (nT + nC);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / nT + 1 / nC));
  if (!(se > 0)) return { z: Number.NaN, pValue: Number.NaN };
  const z = (xT / nT - xC / nC) / se;
  return { z, pValue: normalTwoSided(z) };
}

/**
 * Wald interval of pT − pC with unpooled variances (statsmodels
 * `confint_proportions_2indep(xT, nT, xC, nC, method='wald', compare='diff')`).
 */
export function proportionDifferenceCi(
  xT: number,
  nT: number,
  xC: number,
  nC: number,
  alpha: number,
): Interval {
  const pT = xT / nT;
  const pC = xC / nC;
  const se = Math.sqrt((pT * (1 - pT)) / nT + (pC * (1 - pC)) / nC);
  const z = normalQuantile(1 - alpha / 2);
  return [pT - pC - z * se, pT - pC + z * se];
}

export interface WelchResult {
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  pValue: number;
  /** Interval of meanT − meanC with the t quantile at `df`. */
  ci: Interval;
}

/**
 * Welch's t-test of meanT − meanC from means, sample variances (n − 1) and counts
 * (statsmodels `ttest_ind(t, c, usevar='unequal')` and `CompareMeans.tconfint_diff`).
 *
 * @example
 * welchTTest(10.5, 4, 200, 10, 5, 300, 0.05).df;
 */
export function welchTTest(
  meanT: number,
  varT: number,
  nT: number,
  meanC: number,
  varC: number,
  nC: number,
  alpha: number,
): WelchResult {
  const vT = varT / nT;
  const vC = varC / nC;
  const se2 = vT + vC;
  if (!(se2 > 0) || nT < 2 || nC < 2) {
    return { t: Number.NaN, df: Number.NaN, pValue: Number.NaN, ci: [Number.NaN, Number.NaN] };
  }
  const se = Math.sqrt(se2);
  const t = (meanT - meanC) / se;
  const df = (se2 * se2) / ((vT * vT) / (nT - 1) + (vC * vC) / (nC - 1));
  const q = studentTQuantile(1 - alpha / 2, df);
  return { t, df, pValue: studentTTwoSided(t, df), ci: [meanT - meanC - q * se, meanT - meanC + q * se] };
}

/**
 * Relative lift meanT / meanC − 1 with a normal interval by the delta method:
 * Var(R) ≈ seT²/meanC² + meanT²·seC²/meanC⁴ for R = meanT/meanC, where se² are the
 * variances of the two means. Undefined (NaN) when the control mean is 0.
 *
 * @example
 * relativeLift(0.12, 0.12 * 0.88 / 1000, 0.1, 0.1 * 0.9 / 1000, 0.05).lift; // 0.2
 */
export function relativeLift(
  meanT: number,
  se2T: number,
  meanC: number,
  se2C: number,
  alpha: number,
): { lift: number; ci: Interval } {
  if (meanC === 0) return { lift: Number.NaN, ci: [Number.NaN, Number.NaN] };
  const ratio = meanT / meanC;
  const se = Math.sqrt(se2T / (meanC * meanC) + (meanT * meanT * se2C) / (meanC * meanC * meanC * meanC));
  const z = normalQuantile(1 - alpha / 2);
  return { lift: ratio - 1, ci: [ratio - 1 - z * se, ratio - 1 + z * se] };
}

/**
 * Sample ratio mismatch: Pearson's chi-square goodness of fit of the observed units per
 * variant against the planned shares (SciPy `chisquare(observed, total × shares)`).
 *
 * @example
 * sampleRatioMismatch([9100, 900], [0.9, 0.1]); // { chiSquare: 11.1…, df: 1, pValue: 0.0008… }
 */
export function sampleRatioMismatch(
  observed: readonly number[],
  shares: readonly number[],
): { chiSquare: number; df: number; pValue: number } {
  const total = observed.reduce((s, o) => s + o, 0);
  let chiSquare = 0;
  observed.forEach((o, i) => {
    const expected = total * (shares[i] as number);
    chiSquare += ((o - expected) * (o - expected)) / expected;
  });
  const df = observed.length - 1;
  if (total === 0) return { chiSquare: Number.NaN, df, pValue: Number.NaN };
  return { chiSquare, df, pValue: chiSquareSf(chiSquare, df) };
}

/**
 * Cohen's h for two proportions, 2·asin√p1 − 2·asin√p2 (statsmodels `proportion_effectsize`).
 */
export function proportionEffectSize(p1: number, p2: number): number {
  return 2 * Math.asin(Math.sqrt(p1)) - 2 * Math.asin(Math.sqrt(p2));
}

/**
 * Power of a two-sided two-sample z-test (statsmodels `NormalIndPower().power` with
 * ddof 0): Φ̄(c − d·√n′) + Φ(−c − d·√n′), n′ = 1 / (1/n1 + 1/(n1·ratio)), c = z_{1−α/2}.
 */
export function twoSampleZPower(effectSize: number, nobs1: number, alpha: number, ratio: number): number {
  const c = normalQuantile(1 - alpha / 2);
  const s = Math.abs(effectSize) * Math.sqrt(1 / (1 / nobs1 + 1 / (nobs1 * ratio)));
  return normalUpper(c - s) + normalUpper(c + s);
}

/**
 * Units needed in group 1 (group 2 gets `ratio` times as many) for a two-sided
 * two-sample z-test to reach `power`: the root of `twoSampleZPower`, both tails included,
 * so it equals statsmodels `NormalIndPower().solve_power(effect_size, alpha=, power=,
 * ratio=)` (not the one-tail closed form, which is off by ~1e-8 relative).
 *
 * @example
 * requiredNobs1(0.2, 0.05, 0.8, 1); // 392.44…
 */
export function requiredNobs1(effectSize: number, alpha: number, power: number, ratio: number): number {
  const d = Math.abs(effectSize);
  if (!(d > 0) || !(ratio > 0)) return Number.NaN;
  const c = normalQuantile(1 - alpha / 2);
  // Solve for s = d·√n′ by Newton; the power is increasing and concave beyond c − z_β.
  let s = c + normalQuantile(power);
  for (let i = 0; i < 100; i++) {
    const f = normalUpper(c - s) + normalUpper(c + s) - power;
    const step = f / (normalPdf(c - s) - normalPdf(c + s));
    s -= step;
    if (Math.abs(step) <= 1e-10 * s) break; // quadratic: the next error is ~1e-20
  }
  const nEffective = (s / d) * (s / d);
  return nEffective * (1 + 1 / ratio);
}

/**
 * Always-valid p-value of one look by the mixture SPRT (Johari, Koomen, Pekelis & Walsh,
 * "Always Valid Inference", 2017/2022), for an estimate `diff` of θ with variance `variance`
 * and a normal mixing distribution N(0, τ²) over θ:
 * Λ = √(V/(V+τ²)) · exp(τ²·diff² / (2V(V+τ²))), p = min(1, 1/Λ). Across looks the
 * always-valid p-value is the running minimum (`sequentialPValues`).
 *
 * @example
 * msprtPValue(0.01, 0.00002, 0.0001);
 */
export function msprtPValue(diff: number, variance: number, tau2: number): number {
  if (!(variance > 0) || !(tau2 > 0)) return 1;
  const logLambda =
    0.5 * Math.log(variance / (variance + tau2)) + (tau2 * diff * diff) / (2 * variance * (variance + tau2));
  return Math.min(1, Math.exp(-logLambda));
}

/**
 * The always-valid p-values of successive looks: p_k = min(p_{k−1}, 1/Λ_k).
 *
 * @example
 * sequentialPValues([0.8, 0.3, 0.6]); // [0.8, 0.3, 0.3]
 */
export function sequentialPValues(perLook: readonly number[]): number[] {
  let running = 1;
  return perLook.map((p) => {
    running = Math.min(running, p);
    return running;
  });
}
