import { describe, expect, it } from 'vitest';
import { assignVariant } from '../../lambdas/experiments/assignment';
import {
  ExperimentSpecSchema,
  experimentAllocation,
  OutcomeBatchSchema,
  totalsFromOutcomes,
} from '../../lambdas/experiments/model';

const spec = ExperimentSpecSchema.parse({
  name: 'checkout',
  model: 'churn',
  control_version: '3',
  treatment_version: '4',
});
const allocation = experimentAllocation(spec);
const variantOf = (unit: string) =>
  unit.startsWith('u') ? assignVariant(allocation, spec.salt ?? spec.name, unit) : undefined;
const at = '2025-01-02T03:04:05Z';

describe('experiment and outcome model', () => {
  it('defaults to a 90/10 allocation and refuses one that does not sum to 100%', () => {
    expect(allocation).toEqual([
      { name: 'control', share: 0.9 },
      { name: 'treatment', share: 0.1 },
    ]);
    const bad = ExperimentSpecSchema.parse({ ...spec, allocation: { control: 0.8, treatment: 0.1 } });
    expect(() => experimentAllocation(bad)).toThrow(
      /allocation must sum to 1 \(100%\), but control=0\.8,treatment=0\.1 sums to 0\.9 \(90%\)/,
    );
  });

  it('counts a unit once however many outcomes it has, and a retried outcome once', () => {
    const { outcomes } = OutcomeBatchSchema.parse({
      outcomes: [
        { outcome_id: 'o1', unit_id: 'u1', value: 5, timestamp: at },
        { outcome_id: 'o2', unit_id: 'u1', converted: true, value: 7, timestamp: at },
        { outcome_id: 'o2', unit_id: 'u1', converted: true, value: 7, timestamp: at },
        { outcome_id: 'o3', unit_id: 'u2', timestamp: at },
      ],
    });
    const totals = totalsFromOutcomes(outcomes, variantOf);
    const all = [...totals.values()];
    expect(all.reduce((s, t) => s + t.units, 0)).toBe(2);
    expect(all.reduce((s, t) => s + t.conversions, 0)).toBe(1);
    expect(all.reduce((s, t) => s + t.valueMean * t.units, 0)).toBe(12);
    const u1 = totals.get(variantOf('u1') as string);
    expect(u1?.conversions).toBe(1);
  });

  it('refuses an outcome for a unit never assigned, and an id reused with other content', () => {
    const one = (o: object) => OutcomeBatchSchema.parse({ outcomes: [o] }).outcomes;
    expect(() =>
      totalsFromOutcomes(one({ outcome_id: 'o1', unit_id: 'x9', timestamp: at }), variantOf),
    ).toThrow(/unit 'x9' was never assigned/);
    const twice = [
      ...one({ outcome_id: 'o1', unit_id: 'u1', value: 1, timestamp: at }),
      ...one({ outcome_id: 'o1', unit_id: 'u1', value: 2, timestamp: at }),
    ];
    expect(() => totalsFromOutcomes(twice, variantOf)).toThrow(/'o1' was sent twice with different content/);
  });

  it('refuses malformed outcomes at the schema', () => {
    const r = OutcomeBatchSchema.safeParse({
      outcomes: [{ outcome_id: 'o1', unit_id: '', value: 'x', timestamp: 'yesterday' }],
    });
    expect(r.success).toBe(false);
    expect(OutcomeBatchSchema.safeParse({ outcomes: [] }).success).toBe(false);
  });
});
