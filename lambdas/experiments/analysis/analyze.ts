import { InvalidParameterError } from '../../platform/errors';
import type { VariantShare } from '../allocation';
import type { AnalysisReport, Comparison, Decision, Metric, VariantReport } from './result';
import {
  msprtPValue,
  proportionDifferenceCi,
  proportionEffectSize,
  relativeLift,
  requiredNobs1,
  sampleRatioMismatch,
  twoProportionZTest,
  welchTTest,
} from './statistics';
import { emptyTotals, type VariantTotals, valueVariance } from './totals';

/** A sample ratio mismatch is flagged below this chi-square p-value (common practice). */
export const SRM_THRESHOLD = 0.001;

/** The running minimum of the always-valid p-value per metric, then per treatment. */
export type SequentialMinima = Readonly<Partial<Record<Metric, Readonly<Record<string, number>>>>>;

export interface AnalysisOptions {
  /** Significance level of tests and intervals (1 − confidence). @default 0.05 */
  readonly alpha?: number;
  /** Power for the sample size. @default 0.8 */
  readonly power?: number;
  /** Minimum detectable effect, relative to the control's rate or mean. @default 0.02 */
  readonly mdeRelative?: number;
  /** The metric the decision follows; the other is a guardrail. @default 'conversion' */
  readonly primaryMetric?: Metric;
  /**
   * The lowest always-valid p-value of each metric and treatment at earlier looks
   * (`{conversion: {treatment: 0.2}, value: {...}}`), so each sequential p-value is the
   * running minimum across looks. @default none (first look)
   */
  readonly previousSequentialP?: SequentialMinima;
}

/**
 * Analyses an experiment from each variant's totals: per-variant summaries, a sample
 * ratio mismatch check, and for every treatment against the control (the allocation's
 * first variant) the conversion and value comparisons, sample sizes and a decision.
 *
 * The decision follows the always-valid p-value of the primary metric, which stays valid
 * however often the team looks; the fixed-horizon p-values are reported beside it.
 *
 * @example
 * const report = analyzeExperiment(parseAllocation('control=0.9,treatment=0.1'), totals);
 * report.decision; // 'keep_running'
 */
export function analyzeExperiment(
  allocation: readonly VariantShare[],
  totals: ReadonlyMap<string, VariantTotals>,
  options: AnalysisOptions = {},
): AnalysisReport {
  const alpha = checkedFraction(options.alpha ?? 0.05, 'alpha');
  const power = checkedFraction(options.power ?? 0.8, 'power');
  const mde = options.mdeRelative ?? 0.02;
  if (!(Number.isFinite(mde) && mde > 0))
    throw new InvalidParameterError(`mde must be a positive number, got ${mde}`);
  const primary = options.primaryMetric ?? 'conversion';
  for (const name of totals.keys()) {
    if (!allocation.some((v) => v.name === name)) {
      throw new InvalidParameterError(
        `unknown variant '${name}' (the allocation names ${allocation.map((v) => v.name).join(', ')})`,
      );
    }
  }

  const rows = allocation.map((v) => ({ ...v, totals: totals.get(v.name) ?? emptyTotals() }));
  const allUnits = rows.reduce((s, r) => s + r.totals.units, 0);
  const variants: VariantReport[] = rows.map((r) => {
    const t = r.totals;
    return {
      name: r.name,
      planned_share: r.share,
      observed_share: n(t.units / allUnits),
      units: t.units,
      conversions: t.conversions,
      conversion_rate: n(t.conversions / t.units),
      value_mean: t.units > 0 ? t.valueMean : null,
      value_sd: n(Math.sqrt(valueVariance(t))),
    };
  });

  const srmStats = sampleRatioMismatch(
    rows.map((r) => r.totals.units),
    rows.map((r) => r.share),
  );
  const srm = {
    chi_square: n(srmStats.chiSquare),
    df: srmStats.df,
    p_value: n(srmStats.pValue),
    threshold: SRM_THRESHOLD,
    mismatch: srmStats.pValue < SRM_THRESHOLD,
  };

  const [control, ...treatments] = rows as [(typeof rows)[0], ...typeof rows];
  const comparisons = treatments.map((t) =>
    compare(control, t, {
      alpha,
      power,
      mde,
      primary,
      srmMismatch: srm.mismatch,
      previousConversion: options.previousSequentialP?.conversion?.[t.name],
      previousValue: options.previousSequentialP?.value?.[t.name],
    }),
  );
  const overall = overallDecision(comparisons, srm.mismatch);
  return {
    control: control.name,
    primary_metric: primary,
    alpha,
    power,
    mde_relative: mde,
    confidence_level: 1 - alpha,
    variants,
    srm,
    comparisons,
    ...overall,
  };
}

interface Arm {
  name: string;
  share: number;
  totals: VariantTotals;
}
interface CompareOptions {
  alpha: number;
  power: number;
  mde: number;
  primary: Metric;
  srmMismatch: boolean;
  previousConversion?: number | undefined;
  previousValue?: number | undefined;
}

function compare(c: Arm, t: Arm, o: CompareOptions): Comparison {
  const C = c.totals;
  const T = t.totals;
  const ratio = t.share / c.share;
  const enough = C.units > 0 && T.units > 0;

  // Conversion: proportions, variance p(1 − p)/n.
  const pC = C.conversions / C.units;
  const pT = T.conversions / T.units;
  const se2C = (pC * (1 - pC)) / C.units;
  const se2T = (pT * (1 - pT)) / T.units;
  const zTest = enough ? twoProportionZTest(T.conversions, T.units, C.conversions, C.units) : nanPair();
  const convLift = enough ? relativeLift(pT, se2T, pC, se2C, o.alpha) : nanLift();
  const convTau = o.mde * pC;
  const convSeq = Math.min(
    enough ? msprtPValue(pT - pC, se2T + se2C, convTau * convTau) : 1,
    o.previousConversion ?? 1,
  );
  const pTarget = pC * (1 + o.mde);
  const convEffect = enough && pTarget <= 1 ? proportionEffectSize(pTarget, pC) : Number.NaN;

  // Value: Welch on means with sample variances.
  const vC = valueVariance(C);
  const vT = valueVariance(T);
  const welch = welchTTest(T.valueMean, vT, T.units, C.valueMean, vC, C.units, o.alpha);
  const valueLift = enough
    ? relativeLift(T.valueMean, vT / T.units, C.valueMean, vC / C.units, o.alpha)
    : nanLift();
  const valueTau = o.mde * Math.abs(C.valueMean);
  const valueSeq = Math.min(
    enough && C.units > 1 && T.units > 1
      ? msprtPValue(T.valueMean - C.valueMean, vT / T.units + vC / C.units, valueTau * valueTau)
      : 1,
    o.previousValue ?? 1,
  );
  const valueEffect = C.units > 1 ? (o.mde * Math.abs(C.valueMean)) / Math.sqrt(vC) : Number.NaN;

  const primarySeq = o.primary === 'conversion' ? convSeq : valueSeq;
  const guardSeq = o.primary === 'conversion' ? valueSeq : convSeq;
  const conversion = {
    control: n(pC),
    treatment: n(pT),
    difference: n(pT - pC),
    difference_ci: enough
      ? nn(proportionDifferenceCi(T.conversions, T.units, C.conversions, C.units, o.alpha))
      : nulls(),
    relative_lift: n(convLift.lift),
    relative_lift_ci: nn(convLift.ci),
    z: n(zTest.z),
    p_value: n(zTest.pValue),
    sequential_p_value: convSeq,
    significant: convSeq < o.alpha,
  };
  const value = {
    control: C.units > 0 ? C.valueMean : null,
    treatment: T.units > 0 ? T.valueMean : null,
    difference: enough ? T.valueMean - C.valueMean : null,
    difference_ci: nn(welch.ci),
    relative_lift: n(valueLift.lift),
    relative_lift_ci: nn(valueLift.ci),
    t: n(welch.t),
    df: n(welch.df),
    p_value: n(welch.pValue),
    sequential_p_value: valueSeq,
    significant: valueSeq < o.alpha,
  };
  const sizes = {
    conversion: sampleSize(convEffect, o, ratio, C.units, T.units),
    value: sampleSize(valueEffect, o, ratio, C.units, T.units),
  };

  const main = o.primary === 'conversion' ? conversion : value;
  const guard = o.primary === 'conversion' ? value : conversion;
  const guardName = o.primary === 'conversion' ? 'value' : 'conversion';
  const size = sizes[o.primary];
  const seqText = (p: number) => `always-valid p = ${fmt(p)}`;
  let decision: Decision;
  let reason: string;
  if (o.srmMismatch) {
    decision = 'stop';
    reason =
      'sample ratio mismatch: the observed split differs from the allocation, so assignment or logging is broken and no comparison can be trusted';
  } else if (!enough || main.relative_lift === null) {
    decision = 'keep_running';
    reason = `not enough data yet to compare ${o.primary} (a variant has no units, or the control's ${o.primary} is 0)`;
  } else if (primarySeq < o.alpha && (main.difference as number) < 0) {
    decision = 'stop';
    reason = `${t.name} is worse on ${o.primary}: relative lift ${pct(main.relative_lift)}, ${seqText(primarySeq)} < ${o.alpha}`;
  } else if (primarySeq < o.alpha && guardSeq < o.alpha && (guard.difference ?? 0) < 0) {
    decision = 'stop';
    reason = `${t.name} is better on ${o.primary} (${pct(main.relative_lift)}) but worse on the guardrail ${guardName} (${pct(guard.relative_lift)}, ${seqText(guardSeq)})`;
  } else if (primarySeq < o.alpha) {
    decision = 'promote';
    reason = `${t.name} is better on ${o.primary}: relative lift ${pct(main.relative_lift)} (95% CI ${pct(main.relative_lift_ci[0])} to ${pct(main.relative_lift_ci[1])}), ${seqText(primarySeq)} < ${o.alpha}`;
  } else if (size.progress !== null && size.progress >= 1 && !((main.p_value ?? 1) < o.alpha)) {
    // Futility: the planned sample is in and even the fixed-horizon test sees nothing.
    decision = 'stop';
    reason = `reached the sample size for a ${pct(o.mde)} relative effect with no significant difference (fixed-horizon p = ${fmt(main.p_value ?? 1)}, ${seqText(primarySeq)}): keep the control`;
  } else {
    decision = 'keep_running';
    reason =
      size.progress === null
        ? `no significant difference yet (${seqText(primarySeq)})`
        : `no significant difference yet (${seqText(primarySeq)}); ${pct(size.progress)} of the sample size for a ${pct(o.mde)} relative effect`;
  }
  return { treatment: t.name, conversion, value, sample_size: sizes, decision, reason };
}

function sampleSize(effect: number, o: CompareOptions, ratio: number, unitsC: number, unitsT: number) {
  // A zero-variance control makes any effect infinitely large: no sample size to report.
  const nC = Number.isFinite(effect) ? requiredNobs1(effect, o.alpha, o.power, ratio) : Number.NaN;
  const nT = nC * ratio;
  return {
    effect_size: n(effect),
    control_units: n(Math.ceil(nC)),
    treatment_units: n(Math.ceil(nT)),
    progress: n(Math.min(unitsC / Math.ceil(nC), unitsT / Math.ceil(nT))),
  };
}

/** One treatment decides alone; with several, a promoted one wins (the largest lift), else any still running keeps the experiment running. */
function overallDecision(
  comparisons: Comparison[],
  srmMismatch: boolean,
): { decision: Decision; reason: string } {
  if (srmMismatch) return { decision: 'stop', reason: (comparisons[0] as Comparison).reason };
  if (comparisons.length === 1)
    return {
      decision: (comparisons[0] as Comparison).decision,
      reason: (comparisons[0] as Comparison).reason,
    };
  const promoted = comparisons.filter((c) => c.decision === 'promote');
  if (promoted.length > 0) {
    const best = promoted.reduce((a, b) => (lift(b) > lift(a) ? b : a));
    return { decision: 'promote', reason: best.reason };
  }
  const running = comparisons.find((c) => c.decision === 'keep_running');
  if (running) return { decision: 'keep_running', reason: running.reason };
  return { decision: 'stop', reason: comparisons.map((c) => c.reason).join('; ') };
}

function lift(c: Comparison): number {
  return Math.max(c.conversion.relative_lift ?? 0, c.value.relative_lift ?? 0);
}

function checkedFraction(x: number, name: string): number {
  if (!(Number.isFinite(x) && x > 0 && x < 1))
    throw new InvalidParameterError(`${name} must be between 0 and 1, got ${x}`);
  return x;
}

function n(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
function nn(i: [number, number]): [number | null, number | null] {
  return [n(i[0]), n(i[1])];
}
function nulls(): [null, null] {
  return [null, null];
}
function nanPair() {
  return { z: Number.NaN, pValue: Number.NaN };
}
function nanLift() {
  return { lift: Number.NaN, ci: [Number.NaN, Number.NaN] as [number, number] };
}
function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`;
}
function fmt(p: number): string {
  return p < 1e-4 ? p.toExponential(2) : p.toFixed(4);
}
