import { describe, expect, it } from 'vitest';
import { parseAllocation } from '../../lambdas/experiments/allocation';
import { analyzeExperiment } from '../../lambdas/experiments/analysis/analyze';
import { normalTwoSided } from '../../lambdas/experiments/analysis/special';
import { sequentialPValues, twoProportionZTest } from '../../lambdas/experiments/analysis/statistics';
import { addOutcome, emptyTotals, type VariantTotals } from '../../lambdas/experiments/analysis/totals';
import { mulberry32 } from './support';

const EXPERIMENTS = 500;
const DAYS = 30;
const UNITS_PER_DAY = 400;
const allocation = parseAllocation('control=0.5,treatment=0.5');

interface Simulation {
  /** Share of experiments whose always-valid p fell below 0.05 at any daily look. */
  conversionFpr: number;
  valueFpr: number;
  /** The same, peeking at the fixed-horizon z-test every day. */
  peekingZFpr: number;
}

/**
 * A/A experiments (both arms convert at 10%, converted units have an exponential value)
 * analysed after every simulated day with the previous looks' minimum carried forward.
 */
function simulate(seed: number, lift = 0, experiments = EXPERIMENTS): Simulation {
  const rand = mulberry32(seed);
  let conv = 0;
  let value = 0;
  let peeking = 0;
  for (let e = 0; e < experiments; e++) {
    const totals = new Map<string, VariantTotals>([
      ['control', emptyTotals()],
      ['treatment', emptyTotals()],
    ]);
    let convMin = 1;
    let valueMin = 1;
    let zRejected = false;
    for (let d = 0; d < DAYS; d++) {
      for (let u = 0; u < UNITS_PER_DAY; u++) {
        const treated = rand() < 0.5;
        const converted = rand() < (treated ? 0.1 * (1 + lift) : 0.1);
        addOutcome(
          totals.get(treated ? 'treatment' : 'control') as VariantTotals,
          converted,
          converted ? -20 * Math.log(1 - rand()) : 0,
        );
      }
      // One look: both metrics carry their running minimum through the analysis, as the
      // live analysis does from its stored state.
      const look = analyzeExperiment(allocation, totals, {
        mdeRelative: 0.1,
        previousSequentialP: { conversion: { treatment: convMin }, value: { treatment: valueMin } },
      }).comparisons[0];
      expect(look?.conversion.sequential_p_value).toBeLessThanOrEqual(convMin);
      expect(look?.value.sequential_p_value).toBeLessThanOrEqual(valueMin);
      convMin = look?.conversion.sequential_p_value ?? 1;
      valueMin = look?.value.sequential_p_value ?? 1;
      const c = totals.get('control') as VariantTotals;
      const t = totals.get('treatment') as VariantTotals;
      zRejected ||= twoProportionZTest(t.conversions, t.units, c.conversions, c.units).pValue < 0.05;
    }
    if (convMin < 0.05) conv += 1;
    if (valueMin < 0.05) value += 1;
    if (zRejected) peeking += 1;
  }
  return {
    conversionFpr: conv / experiments,
    valueFpr: value / experiments,
    peekingZFpr: peeking / experiments,
  };
}

describe('always-valid p-values under daily looks', () => {
  it('keep the false-positive rate of 500 A/A experiments × 30 looks at or below 5%, where peeking at the z-test does not', () => {
    const sim = simulate(20240513);
    expect(sim.conversionFpr).toBeLessThanOrEqual(0.05);
    expect(sim.valueFpr).toBeLessThanOrEqual(0.05);
    // The same data and looks inflate a fixed-horizon test well past its nominal 5%:
    // the simulation is sensitive enough to catch an invalid sequential p-value.
    expect(sim.peekingZFpr).toBeGreaterThan(0.1);
  });

  it('still detect a real 20% lift in most of 100 experiments', () => {
    const sim = simulate(7, 0.2, 100);
    expect(sim.conversionFpr).toBeGreaterThan(0.5);
  });

  it('are the running minimum over looks', () => {
    expect(sequentialPValues([0.8, 0.3, 0.6, 0.2, 1])).toEqual([0.8, 0.3, 0.3, 0.2, 0.2]);
  });
});

/** Totals with exact counts: `units` units, `conversions` of them converted with value 10, the rest 0 (so the value follows conversion). */
function arm(
  units: number,
  conversions: number,
  valueFor = (converted: boolean, i: number) => (converted ? 10 + (i % 5) : 0),
) {
  const t = emptyTotals();
  for (let i = 0; i < units; i++) addOutcome(t, i < conversions, valueFor(i < conversions, i));
  return t;
}

describe('the decision', () => {
  const split = parseAllocation('control=0.9,treatment=0.1');

  it('stops on a sample ratio mismatch whatever the lift', () => {
    const r = analyzeExperiment(
      split,
      new Map([
        ['control', arm(9100, 910)],
        ['treatment', arm(900, 300)],
      ]),
    );
    expect(r.srm.p_value as number).toBeLessThan(0.001);
    expect(r.srm.mismatch).toBe(true);
    expect(r.decision).toBe('stop');
    expect(r.reason).toMatch(/sample ratio mismatch/);
  });

  it('promotes a treatment that is better with an always-valid p below alpha', () => {
    const r = analyzeExperiment(
      split,
      new Map([
        ['control', arm(90_000, 9_000)],
        ['treatment', arm(10_000, 1_300)],
      ]),
    );
    expect(r.srm.mismatch).toBe(false);
    expect(r.comparisons[0]?.conversion.sequential_p_value as number).toBeLessThan(0.05);
    expect(r.decision).toBe('promote');
    expect(r.reason).toMatch(/treatment is better on conversion: relative lift 30\.00%/);
  });

  it('stops a treatment that is significantly worse', () => {
    const r = analyzeExperiment(
      split,
      new Map([
        ['control', arm(90_000, 9_000)],
        ['treatment', arm(10_000, 700)],
      ]),
    );
    expect(r.decision).toBe('stop');
    expect(r.reason).toMatch(/worse on conversion/);
  });

  it('does not promote a conversion win that loses on the value guardrail', () => {
    const cheap = (converted: boolean, i: number) => (converted ? 2 + (i % 3) : 0);
    const r = analyzeExperiment(
      split,
      new Map([
        ['control', arm(90_000, 9_000)],
        ['treatment', arm(10_000, 1_300, cheap)],
      ]),
    );
    expect(r.comparisons[0]?.value.significant).toBe(true);
    expect(r.decision).toBe('stop');
    expect(r.reason).toMatch(/worse on the guardrail value/);
  });

  it('keeps running while the evidence is short of the planned sample, and says how far along it is', () => {
    const r = analyzeExperiment(
      split,
      new Map([
        ['control', arm(9_000, 900)],
        ['treatment', arm(1_000, 105)],
      ]),
    );
    expect(r.decision).toBe('keep_running');
    const size = r.comparisons[0]?.sample_size.conversion;
    expect(size?.control_units as number).toBeGreaterThan(9_000);
    expect(r.reason).toMatch(/of the sample size for a 2\.00% relative effect/);
  });

  it('stops for futility once the planned sample is in with no difference', () => {
    const r = analyzeExperiment(
      split,
      new Map([
        ['control', arm(2_070_000, 207_000)],
        ['treatment', arm(230_000, 23_000)],
      ]),
      {
        mdeRelative: 0.05,
      },
    );
    expect(r.comparisons[0]?.sample_size.conversion.progress as number).toBeGreaterThanOrEqual(1);
    expect(r.decision).toBe('stop');
    expect(r.reason).toMatch(/reached the sample size/);
  });

  it('reports a variant without units as nulls and keeps running', () => {
    const r = analyzeExperiment(split, new Map([['control', arm(100, 10)]]));
    expect(r.variants[1]?.conversion_rate).toBeNull();
    expect(r.comparisons[0]?.conversion.p_value).toBeNull();
    expect(r.decision).toBe('stop'); // 100 vs 0 units is itself a sample ratio mismatch
    expect(normalTwoSided(0)).toBe(1);
  });
});

describe('degenerate data', () => {
  it('reports no sample size for the value when the control value never varies', () => {
    const flat = (units: number) => {
      const t = emptyTotals();
      for (let i = 0; i < units; i++) addOutcome(t, i % 10 === 0, 5);
      return t;
    };
    const r = analyzeExperiment(
      parseAllocation('control=0.5,treatment=0.5'),
      new Map([
        ['control', flat(1000)],
        ['treatment', flat(1000)],
      ]),
    );
    expect(r.comparisons[0]?.sample_size.value).toEqual({
      effect_size: null,
      control_units: null,
      treatment_units: null,
      progress: null,
    });
    expect(r.comparisons[0]?.value.t).toBeNull();
    expect(r.comparisons[0]?.sample_size.conversion.control_units as number).toBeGreaterThan(1000);
  });
});
