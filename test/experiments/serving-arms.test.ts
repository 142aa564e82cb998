import { describe, expect, it } from 'vitest';
import { assignVariant } from '../../lambdas/experiments/assignment';
import { ExperimentArms } from '../../lambdas/experiments/serving-arms';
import type { ExperimentPlan } from '../../lambdas/experiments/store/experiment-store';
import type { ServedModel } from '../../lambdas/serving/domain/served-model';

// pick() reads only the served model's name and version; the sessions are exercised in live-ab.test.ts.
const model = (version: string) => ({ name: 'churn', version }) as unknown as ServedModel;
const plan: ExperimentPlan = {
  id: 'e1',
  model: 'churn',
  control_version: '1',
  treatment_version: '2',
  allocation: { control: 0.5, treatment: 0.5 },
  salt: 'e1',
};
const SHARES = [
  { name: 'control', share: 0.5 },
  { name: 'treatment', share: 0.5 },
];

describe('live assignment in the predict function (ExperimentArms)', () => {
  it('reads the running experiment once per cache time, and refreshes it without making a request wait', async () => {
    let now = 0;
    let reads = 0;
    let current: ExperimentPlan | undefined = plan;
    const loads: string[] = [];
    const arms = new ExperimentArms({
      running: async () => {
        reads++;
        return current;
      },
      load: async (v) => {
        loads.push(v);
        return model(v);
      },
      ttlMs: 30_000,
      now: () => now,
    });
    const served = model('1');
    for (let i = 0; i < 200; i++) {
      const unit = `u${i}`;
      const choice = await arms.pick(unit, served);
      const arm = assignVariant(SHARES, 'e1', unit);
      expect(choice).toMatchObject({ experiment: 'e1', arm });
      expect(choice?.model.version).toBe(arm === 'control' ? '1' : '2');
      if (arm === 'control') expect(choice?.model).toBe(served);
    }
    expect(reads).toBe(1);
    // The treatment's session is loaded once; the served version is never loaded again.
    expect(loads).toEqual(['2']);

    // Stopped: past the cache time the stale plan answers while the refresh runs, then none.
    current = undefined;
    now += 30_001;
    expect(await arms.pick('u1', served)).toBeDefined();
    await new Promise((r) => setTimeout(r, 0));
    expect(await arms.pick('u1', served)).toBeUndefined();
    expect(reads).toBe(2);
  });

  it('leaves units unassigned, and says so once, when an arm’s version does not load', async () => {
    const warnings: string[] = [];
    const arms = new ExperimentArms({
      running: async () => plan,
      load: async (v) => {
        throw new Error(`version ${v} has no model.onnx`);
      },
      warn: (m) => warnings.push(m),
    });
    const served = model('1');
    const treated = Array.from({ length: 40 }, (_, i) => `u${i}`).filter(
      (u) => assignVariant(SHARES, 'e1', u) === 'treatment',
    );
    for (const unit of treated) expect(await arms.pick(unit, served)).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/version 2 of 'churn' \(treatment\) does not load.*no model\.onnx/);
  });

  it('keeps the last known plan when the lookup fails', async () => {
    let now = 0;
    let fail = false;
    const warnings: string[] = [];
    const arms = new ExperimentArms({
      running: async () => {
        if (fail) throw new Error('throttled');
        return plan;
      },
      load: async (v) => model(v),
      now: () => now,
      warn: (m) => warnings.push(m),
    });
    expect(await arms.pick('u1', model('1'))).toBeDefined();
    fail = true;
    now += 60_000;
    await arms.pick('u1', model('1'));
    await new Promise((r) => setTimeout(r, 0));
    expect(await arms.pick('u1', model('1'))).toMatchObject({ experiment: 'e1' });
    expect(warnings[0]).toMatch(/lookup for 'churn' failed: throttled/);
  });
});
