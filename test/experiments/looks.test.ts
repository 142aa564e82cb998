import { describe, expect, inject, it } from 'vitest';
import { analyzeExperiment } from '../../lambdas/experiments/analysis/analyze';
import { addOutcome, emptyTotals, type VariantTotals } from '../../lambdas/experiments/analysis/totals';
import { ExperimentService } from '../../lambdas/experiments/domain/experiments';
import { stateKey } from '../../lambdas/experiments/domain/looks';
import { ExperimentSpecSchema, type Outcome } from '../../lambdas/experiments/model';
import { DynamoExperimentStore } from '../../lambdas/experiments/store/dynamo-experiment-store';
import { localDynamoClients } from '../../local/engines/dynamodb';

// The experiments table of the template, in the run's dynalite (test/support/global-setup.ts).
const store = new DynamoExperimentStore(localDynamoClients(inject('dynamodbEndpoint')).doc, 'experiments');
const registry = { getVersion: async () => ({ status: 'READY' }) };
const DAY = 86_400_000;
const start = Date.parse('2026-12-01T09:00:00Z');
const serviceAt = (ms: number) => new ExperimentService({ store, registry, now: () => ms });
const allocation = [
  { name: 'control', share: 0.5 },
  { name: 'treatment', share: 0.5 },
];

let n = 0;
async function experiment(): Promise<string> {
  const m = `looks-${Date.now().toString(36)}-${n++}`;
  const id = `e-${m}`;
  await serviceAt(start).create(
    ExperimentSpecSchema.parse({
      name: id,
      model: m,
      control_version: '1',
      treatment_version: '2',
      allocation: { control: 0.5, treatment: 0.5 },
    }),
  );
  return id;
}

/**
 * Exposes `units` units per arm (ids from `from`) of which `control` and `treatment` convert,
 * as the exposure sink and the outcome route would record them, and adds them to `totals`.
 */
async function serve(
  id: string,
  from: number,
  units: number,
  conversions: { control: number; treatment: number },
  totals: Map<string, VariantTotals>,
): Promise<void> {
  const outcomes: Outcome[] = [];
  const exposures = [];
  for (const arm of ['control', 'treatment'] as const) {
    for (let i = 0; i < units; i++) {
      const unit = `${arm}-${from + i}`;
      exposures.push({ experiment: id, unit, arm, at: start });
      const converted = i < conversions[arm];
      addOutcome(totals.get(arm) as VariantTotals, converted, converted ? 1 : 0);
      if (converted)
        outcomes.push({
          outcome_id: `o-${unit}`,
          unit_id: unit,
          converted,
          value: 1,
          timestamp: '2026-12-01T10:00:00Z',
        });
    }
  }
  await store.recordExposures(exposures);
  for (let i = 0; i < outcomes.length; i += 1000)
    await serviceAt(start).recordOutcomes(id, outcomes.slice(i, i + 1000));
}

const newTotals = () =>
  new Map<string, VariantTotals>([
    ['control', emptyTotals()],
    ['treatment', emptyTotals()],
  ]);

describe('always-valid p-values kept across analysis calls', () => {
  it("a later look's p-value never rises above an earlier one's, and the decision follows the minimum", async () => {
    const id = await experiment();
    const totals = newTotals();
    const options = { mdeRelative: 0.5 };
    // Day 1: 100 units an arm, 10% against 40% converted: significant at once.
    await serve(id, 0, 100, { control: 10, treatment: 40 }, totals);
    const day1 = await serviceAt(start).analyze(id, options);
    const p1 = day1.comparisons[0]?.conversion.sequential_p_value as number;
    expect(p1).toBeLessThan(0.05);
    expect(day1.decision).toBe('promote');

    // Day 2: 1,000 more units an arm that dilute the difference (140 against 150 of 1,100):
    // this look alone is far from significant ...
    await serve(id, 100, 1000, { control: 130, treatment: 110 }, totals);
    const alone = analyzeExperiment(allocation, totals, options).comparisons[0];
    expect(alone?.conversion.sequential_p_value).toBeGreaterThan(0.5);
    // (at a 50% MDE the planned sample is in: alone, it would stop for futility).
    expect(alone?.decision).toBe('stop');
    // ... but the stored minimum carries day 1's evidence: the p-value does not rise.
    const day2 = await serviceAt(start + DAY).analyze(id, options);
    expect(day2.comparisons[0]?.conversion.sequential_p_value).toBe(p1);
    expect(day2.comparisons[0]?.conversion.significant).toBe(true);
    expect(day2.decision).toBe('promote');
    expect(day2.reason).toContain('always-valid p');
    // The same look again (same day, same data) changes nothing.
    expect(await serviceAt(start + DAY + 3_600_000).analyze(id, options)).toEqual(day2);
    const stored = await store.sequentialState(id, stateKey(0.5));
    expect(stored?.state.looks.map((l) => l.day)).toEqual(['2026-12-01', '2026-12-02']);
    expect(stored?.state.min.conversion?.['treatment']).toBe(p1);
    // Another MDE is another mixture, so another state: its first look is this data alone.
    const other = await serviceAt(start + DAY).analyze(id, { mdeRelative: 0.2 });
    expect((await store.sequentialState(id, stateKey(0.2)))?.state.looks).toHaveLength(1);
    expect(other.comparisons[0]?.conversion.sequential_p_value).toBe(
      analyzeExperiment(allocation, totals, { mdeRelative: 0.2 }).comparisons[0]?.conversion
        .sequential_p_value,
    );
  });

  it('concurrent analysis calls lose no look', async () => {
    const id = await experiment();
    await serve(id, 0, 50, { control: 5, treatment: 8 }, newTotals());
    // Eight calls at once, each on its own day: each read-modify-write races the others.
    const days = Array.from({ length: 8 }, (_, d) => start + d * DAY);
    await Promise.all(days.map((ms) => serviceAt(ms).analyze(id)));
    const stored = await store.sequentialState(id, stateKey(0.02));
    expect(stored?.state.looks.map((l) => l.day)).toEqual(
      days.map((ms) => new Date(ms).toISOString().slice(0, 10)),
    );
    expect(stored?.revision).toBe(8);
  });

  it('a write from a stale revision is refused', async () => {
    const id = await experiment();
    const state = { mde: 0.1, min: { conversion: { treatment: 0.5 } }, looks: [] };
    expect(await store.putSequentialState(id, 'k', state, undefined)).toBe(true);
    expect(await store.putSequentialState(id, 'k', state, undefined)).toBe(false);
    expect(
      await store.putSequentialState(id, 'k', { ...state, min: { conversion: { treatment: 1e-300 } } }, 1),
    ).toBe(true);
    expect(await store.putSequentialState(id, 'k', state, 1)).toBe(false);
    expect(await store.sequentialState(id, 'k')).toEqual({
      state: { ...state, min: { conversion: { treatment: 1e-300 } } },
      revision: 2,
    });
  });
});
