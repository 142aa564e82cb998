import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateAllocation } from '../../lambdas/experiments/allocation';
import { analyzeExperiment } from '../../lambdas/experiments/analysis/analyze';
import { readOutcomeCsv } from '../../lambdas/experiments/analysis/outcome-csv';
import { AnalysisReportSchema } from '../../lambdas/experiments/analysis/result';
import {
  chiSquareSf,
  normalQuantile,
  normalTwoSided,
  studentTQuantile,
  studentTTwoSided,
} from '../../lambdas/experiments/analysis/special';
import {
  msprtPValue,
  proportionDifferenceCi,
  proportionEffectSize,
  relativeLift,
  requiredNobs1,
  sampleRatioMismatch,
  twoProportionZTest,
  twoSampleZPower,
  welchTTest,
} from '../../lambdas/experiments/analysis/statistics';
import {
  addOutcome,
  emptyTotals,
  fromSums,
  mergeTotals,
  valueVariance,
} from '../../lambdas/experiments/analysis/totals';
import { expectP, expectStat, vectors } from './support';

const ALPHA = vectors.alpha as number;

describe('distribution functions agree with SciPy', () => {
  it('normal two-sided tail and quantile', () => {
    for (const v of vectors.special.normal_two_sided)
      expectStat(normalTwoSided(v.z), v.p, `P(|Z| >= ${v.z})`);
    for (const v of vectors.special.normal_quantile) expectStat(normalQuantile(v.p), v.x, `Φ⁻¹(${v.p})`);
  });

  it('Student t two-sided tail and quantile, fractional and very large df included', () => {
    for (const v of vectors.special.t_two_sided)
      expectP(studentTTwoSided(v.t, v.df), v.p, `t ${v.t} df ${v.df}`);
    for (const v of vectors.special.t_quantile)
      expectStat(studentTQuantile(v.p, v.df), v.x, `t⁻¹(${v.p}; ${v.df})`);
  });

  it('chi-square upper tail', () => {
    for (const v of vectors.special.chi_square_sf)
      expectP(chiSquareSf(v.x, v.df), v.p, `chi2 ${v.x} df ${v.df}`);
  });
});

describe('conversion statistics agree with statsmodels', () => {
  it('pooled two-proportion z-test, Wald interval of the difference, delta-method lift', () => {
    for (const v of vectors.proportions) {
      const label = `${v.xT}/${v.nT} vs ${v.xC}/${v.nC}`;
      const z = twoProportionZTest(v.xT, v.nT, v.xC, v.nC);
      expectStat(z.z, v.z, `z ${label}`);
      expectP(z.pValue, v.p, `p ${label}`);
      const ci = proportionDifferenceCi(v.xT, v.nT, v.xC, v.nC, ALPHA);
      expectStat(ci[0], v.diff_ci[0], `ci lo ${label}`);
      expectStat(ci[1], v.diff_ci[1], `ci hi ${label}`);
      const pT = v.xT / v.nT;
      const pC = v.xC / v.nC;
      const lift = relativeLift(pT, (pT * (1 - pT)) / v.nT, pC, (pC * (1 - pC)) / v.nC, ALPHA);
      expectStat(lift.lift, v.lift_lift, `lift ${label}`);
      expectStat(lift.ci[0], v.lift_ci[0], `lift lo ${label}`);
      expectStat(lift.ci[1], v.lift_ci[1], `lift hi ${label}`);
    }
  });
});

describe("Welch's t-test agrees with statsmodels on raw data reduced by the streaming totals", () => {
  it('statistic, Welch–Satterthwaite df, p-value, interval and lift', () => {
    for (const v of vectors.welch) {
      const t = emptyTotals();
      const c = emptyTotals();
      for (const x of v.treatment) addOutcome(t, false, x);
      for (const x of v.control) addOutcome(c, false, x);
      expectStat(t.valueMean, v.mean_t, 'mean t');
      expectStat(valueVariance(c), v.var_c, 'var c');
      const w = welchTTest(
        t.valueMean,
        valueVariance(t),
        t.units,
        c.valueMean,
        valueVariance(c),
        c.units,
        ALPHA,
      );
      const label = `n ${t.units} vs ${c.units}`;
      expectStat(w.t, v.t, `t ${label}`);
      expectStat(w.df, v.df, `df ${label}`);
      expectP(w.pValue, v.p, `p ${label}`);
      expectStat(w.ci[0], v.diff_ci[0], `ci lo ${label}`);
      expectStat(w.ci[1], v.diff_ci[1], `ci hi ${label}`);
      const lift = relativeLift(
        t.valueMean,
        valueVariance(t) / t.units,
        c.valueMean,
        valueVariance(c) / c.units,
        ALPHA,
      );
      expectStat(lift.lift, v.lift_lift, 'lift');
      expectStat(lift.ci[0], v.lift_ci[0], 'lift lo');
      expectStat(lift.ci[1], v.lift_ci[1], 'lift hi');
    }
  });

  it('totals merged from parts, or rebuilt from plain sums, equal the one-pass totals', () => {
    const v = vectors.welch[2];
    const whole = emptyTotals();
    const a = emptyTotals();
    const b = emptyTotals();
    v.control.forEach((x: number, i: number) => {
      addOutcome(whole, i % 3 === 0, x);
      addOutcome(i < 700 ? a : b, i % 3 === 0, x);
    });
    const merged = mergeTotals(a, b);
    expect(merged.units).toBe(whole.units);
    expect(merged.conversions).toBe(whole.conversions);
    expectStat(merged.valueMean, v.mean_c);
    expectStat(valueVariance(merged), v.var_c);
    const sum = v.control.reduce((s: number, x: number) => s + x, 0);
    const sumSq = v.control.reduce((s: number, x: number) => s + x * x, 0);
    expectStat(valueVariance(fromSums(whole.units, whole.conversions, sum, sumSq)), v.var_c);
  });
});

describe('sample ratio mismatch agrees with scipy.stats.chisquare', () => {
  it('statistic, df and p-value, for two and three variants', () => {
    for (const v of vectors.srm) {
      const r = sampleRatioMismatch(v.observed, v.shares);
      expectStat(r.chiSquare, v.chi_square, `chi2 ${v.observed}`);
      expect(r.df).toBe(v.df);
      expectP(r.pValue, v.p, `p ${v.observed}`);
    }
  });
});

describe('sample size agrees with statsmodels NormalIndPower', () => {
  it("Cohen's h and the root of NormalIndPower.power (both tails)", () => {
    for (const v of vectors.sample_size) {
      const effect =
        v.sd === undefined
          ? proportionEffectSize(v.baseline * (1 + v.mde_relative), v.baseline)
          : (v.mde_relative * Math.abs(v.baseline)) / v.sd;
      expectStat(effect, v.effect_size, `effect ${v.baseline}`);
      const n1 = requiredNobs1(effect, v.alpha, v.power, v.ratio);
      expectStat(n1, v.nobs1, `nobs1 ${v.baseline} mde ${v.mde_relative} ratio ${v.ratio}`);
      // statsmodels' solve_power stops at its own root tolerance, ~1e-10 relative.
      expect(Math.abs(n1 / v.nobs1_solve_power - 1)).toBeLessThan(1e-8);
      expectStat(twoSampleZPower(effect, n1, v.alpha, v.ratio), v.power, 'power at the root');
    }
  });
});

describe('mSPRT p-value of one look agrees with the formula of Johari et al.', () => {
  it('matches the Python transcription', () => {
    for (const v of vectors.msprt) expectP(msprtPValue(v.diff, v.variance, v.tau2), v.p, `diff ${v.diff}`);
  });
});

describe('the CSV path end to end agrees with SciPy/statsmodels on the same file', () => {
  it('reads outcomes.csv into totals whose analysis matches the reference', async () => {
    const ref = vectors.outcomes_csv;
    const file = fileURLToPath(new URL('./reference/outcomes.csv', import.meta.url));
    const allocation = validateAllocation(
      Object.entries(ref.allocation as Record<string, number>).map(([name, share]) => ({ name, share })),
    );
    const totals = await readOutcomeCsv(
      createReadStream(file, { highWaterMark: 4096 }),
      ['control', 'treatment'],
      file,
    );
    const report = AnalysisReportSchema.parse(analyzeExperiment(allocation, totals));
    const [control, treatment] = report.variants;
    expect(control?.units).toBe(ref.units.control);
    expect(treatment?.conversions).toBe(ref.conversions.treatment);
    expectStat(treatment?.value_mean, ref.value_mean.treatment);
    expectStat(control?.value_sd, ref.value_sd.control);
    const c = report.comparisons[0];
    expectStat(c?.conversion.z, ref.z);
    expectP(c?.conversion.p_value, ref.z_p);
    expectStat(c?.value.t, ref.t);
    expectStat(c?.value.df, ref.df);
    expectP(c?.value.p_value, ref.t_p);
    expectStat(report.srm.chi_square, ref.srm_chi_square);
    expectP(report.srm.p_value, ref.srm_p);
    expect(report.srm.mismatch).toBe(false);
  });
});
