import { describe, expect, inject, it } from 'vitest';
import { analyzeExperiment } from '../../lambdas/experiments/analysis/analyze';
import { addOutcome, emptyTotals, type VariantTotals } from '../../lambdas/experiments/analysis/totals';
import { ExperimentService, INTERRUPTED_CREATE_MS } from '../../lambdas/experiments/domain/experiments';
import { ExposureSink, exposuresOf } from '../../lambdas/experiments/exposures';
import { ExperimentSpecSchema, type Outcome } from '../../lambdas/experiments/model';
import { DynamoExperimentStore } from '../../lambdas/experiments/store/dynamo-experiment-store';
import type { LoggedPrediction } from '../../lambdas/monitoring/log/record';
import { MlopsError } from '../../lambdas/platform/errors';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { expectClose } from './support';

// The experiments table of the template, in the run's dynalite (test/support/global-setup.ts).
const store = new DynamoExperimentStore(localDynamoClients(inject('dynamodbEndpoint')).doc, 'experiments');
// The registry port only: which versions exist. The real registry is used in live-ab.test.ts.
const versions = new Map<string, string>([
  ['m/1', 'READY'],
  ['m/2', 'READY'],
  ['m/3', 'FAILED_REGISTRATION'],
]);
const registry = {
  getVersion: async (name: string, version: string) => {
    const status = versions.get(`${name.replace(/-.*/, '')}/${version}`);
    return status ? { status } : undefined;
  },
};
let clock = Date.parse('2026-12-04T10:00:00Z');
const service = new ExperimentService({ store, registry, now: () => clock });

let n = 0;
/** A model name of its own per test (the registry above answers for any `m-...`). */
const model = () => `m-${Date.now().toString(36)}-${n++}`;
const spec = (name: string, m: string, extra: object = {}) =>
  ExperimentSpecSchema.parse({ name, model: m, control_version: '1', treatment_version: '2', ...extra });

async function failure(p: Promise<unknown>): Promise<MlopsError> {
  const err = await p.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(MlopsError);
  return err as MlopsError;
}

function logged(over: Partial<LoggedPrediction> & { extra?: Record<string, unknown> }): LoggedPrediction {
  return {
    requestId: 'r',
    model: 'm',
    version: '1',
    variant: 'live',
    api: 'v1',
    timestamp: clock,
    status: 200,
    latencyMs: 1,
    rows: 1,
    inputs: {},
    predictions: [0.5],
    extra: {},
    ...over,
  };
}

describe('experiment lifecycle', () => {
  it('creates a running 90/10 experiment salted by its name, and reads and lists it', async () => {
    const m = model();
    const exp = await service.create(spec(`e-${m}`, m));
    expect(exp).toMatchObject({
      id: `e-${m}`,
      model: m,
      status: 'running',
      allocation: { control: 0.9, treatment: 0.1 },
      salt: `e-${m}`,
    });
    expect(await store.running(m)).toMatchObject({ id: `e-${m}`, control_version: '1' });
    expect(await service.get(`e-${m}`)).toEqual(exp);
    expect((await service.list(m)).map((e) => e.id)).toEqual([`e-${m}`]);
    // A retried create answers the same experiment.
    expect(await service.create(spec(`e-${m}`, m))).toEqual(exp);
  });

  it('refuses a second running experiment on a model, naming the running one, and writes nothing', async () => {
    const m = model();
    await service.create(spec(`a-${m}`, m));
    const err = await failure(service.create(spec(`b-${m}`, m)));
    expect(err.status).toBe(400);
    expect(err.message).toContain(`already has a running experiment 'a-${m}'`);
    expect(await store.get(`b-${m}`)).toBeUndefined();
    // Once stopped, the model takes a new one.
    const stopped = await service.stop(`a-${m}`);
    expect(stopped.status).toBe('stopped');
    expect(await store.running(m)).toBeUndefined();
    expect((await service.create(spec(`b-${m}`, m))).status).toBe('running');
    expect(await service.stop(`a-${m}`)).toMatchObject({ status: 'stopped' });
  });

  it('refuses bad specs with a 4xx that says what to fix', async () => {
    const m = model();
    const sum = await failure(
      service.create(spec(`s-${m}`, m, { allocation: { control: 0.9, treatment: 0.2 } })),
    );
    expect(sum.status).toBe(400);
    expect(sum.message).toMatch(/must sum to 1 \(100%\).*sums to 1\.1 \(110%\)/);
    const missing = await failure(service.create(spec(`v-${m}`, m, { treatment_version: '9' })));
    expect(missing.status).toBe(404);
    expect(missing.message).toContain('has no version 9');
    const both = await failure(
      service.create(spec(`w-${m}`, m, { control_version: '8', treatment_version: '9' })),
    );
    expect(both.message).toContain('has no version 8 and no version 9');
    const unready = await failure(service.create(spec(`u-${m}`, m, { treatment_version: '3' })));
    expect(unready.status).toBe(400);
    expect(unready.message).toContain('FAILED_REGISTRATION');
    const same = await failure(service.create(spec(`x-${m}`, m, { treatment_version: '1' })));
    expect(same.status).toBe(400);
    await service.create(spec(`k-${m}`, `${m}-other`));
    const taken = await failure(service.create(spec(`k-${m}`, m)));
    expect(taken.code).toBe('RESOURCE_ALREADY_EXISTS');
    expect((await failure(service.get('nope'))).status).toBe(404);
    for (const id of [`s-${m}`, `v-${m}`, `w-${m}`, `u-${m}`, `x-${m}`])
      expect(await store.get(id)).toBeUndefined();
    expect(await store.running(m)).toBeUndefined();
  });

  it('finishes on read what an interrupted create or stop left', async () => {
    const m = model();
    const base = {
      model: m,
      control_version: '1',
      treatment_version: '2',
      allocation: { control: 0.5, treatment: 0.5 },
      created_at: new Date(clock).toISOString(),
    };
    // Create interrupted after it took the slot: it serves, so it is running.
    await store.insert({ ...base, id: `c1-${m}`, salt: 's', status: 'starting' });
    await store.claimRunning({ ...base, id: `c1-${m}`, salt: 's' });
    expect((await service.get(`c1-${m}`)).status).toBe('running');
    // Stop interrupted after the slot was released: nothing serves it, so it is stopped.
    await store.releaseRunning(m, `c1-${m}`);
    const stopped = await service.get(`c1-${m}`);
    expect(stopped.status).toBe('stopped');
    expect(stopped.status_message).toMatch(/stop was interrupted/);
    // Create interrupted before it took the slot: starting for a minute, then failed.
    await store.insert({ ...base, id: `c2-${m}`, salt: 's', status: 'starting' });
    expect((await service.get(`c2-${m}`)).status).toBe('starting');
    clock += INTERRUPTED_CREATE_MS + 1;
    expect((await service.get(`c2-${m}`)).status).toBe('failed');
    // A slot left by a stop interrupted after its record changed is taken over.
    await store.insert({ ...base, id: `c3-${m}`, salt: 's', status: 'stopped' });
    await store.claimRunning({ ...base, id: `c3-${m}`, salt: 's' });
    expect((await service.create(spec(`c4-${m}`, m))).status).toBe('running');
    expect((await store.running(m))?.id).toBe(`c4-${m}`);
  });
});

describe('exposures from the prediction log (ExposureSink)', () => {
  it('records one exposure per experiment and unit, idempotently, from successful lines with an arm', async () => {
    const m = model();
    const id = `x-${m}`;
    await service.create(spec(id, m, { allocation: { control: 0.5, treatment: 0.5 } }));
    const t = clock;
    const records = [
      logged({ timestamp: t + 5, extra: { experiment: id, arm: 'control', unit_id: 'u1' } }),
      logged({ timestamp: t + 1, extra: { experiment: id, arm: 'control', unit_id: 'u1' } }),
      logged({ extra: { experiment: id, arm: 'treatment', unit_id: 'u2' } }),
      logged({ extra: { experiment: id, arm: 'treatment', unit_id: 'u3' }, status: 500 }),
      logged({ extra: { unit_id: 'u4' } }),
      logged({ extra: { experiment: id, arm: 'sideways', unit_id: 'u5' } }),
      logged({ extra: { experiment: id, arm: 'control' } }),
      logged({ extra: { experiment: id, arm: 'control', unit_id: 'bad\ud800' } }),
    ];
    expect(exposuresOf(records)).toEqual([
      { experiment: id, unit: 'u1', arm: 'control', at: t + 1 },
      { experiment: id, unit: 'u2', arm: 'treatment', at: t },
    ]);
    const sink = new ExposureSink(store);
    await sink.write(records);
    await sink.write(records); // a redelivered batch
    await sink.write([logged({ extra: { experiment: id, arm: 'treatment', unit_id: 'u1' } })]);
    expect(await store.exposureCounts(id)).toEqual(
      new Map([
        ['control', 1],
        ['treatment', 1],
      ]),
    );
    expect(await store.exposedArms(id, ['u1', 'u2', 'u3', 'u4'])).toEqual(
      new Map([
        ['u1', 'control'],
        ['u2', 'treatment'],
      ]),
    );
  });
});

describe('outcomes and analysis', () => {
  const at = '2026-12-04T10:00:00Z';
  const outcome = (id: string, unit: string, converted: boolean, value: number): Outcome => ({
    outcome_id: id,
    unit_id: unit,
    converted,
    value,
    timestamp: at,
  });

  it('records a batch once, refuses unassigned units and changed outcomes with nothing written, and analyses per unit', async () => {
    const m = model();
    const id = `o-${m}`;
    await service.create(spec(id, m, { allocation: { control: 0.5, treatment: 0.5 } }));
    const exposures = Array.from({ length: 40 }, (_, i) => ({
      experiment: id,
      unit: `u${i}`,
      arm: i % 2 === 0 ? 'control' : 'treatment',
      at: clock,
    }));
    expect(await store.recordExposures(exposures)).toBe(40);

    const batch = [
      outcome('o1', 'u0', true, 10),
      outcome('o2', 'u0', false, 2.5),
      outcome('o3', 'u1', true, 7),
      outcome('o4', 'u3', false, 1),
      outcome('o5', 'u4', true, 0),
      outcome('o1', 'u0', true, 10), // repeated in the batch with the same content: once
    ];
    expect(await service.recordOutcomes(id, batch)).toEqual({
      experiment: id,
      received: 5,
      recorded: 5,
      duplicates: 0,
    });
    expect(await service.recordOutcomes(id, batch)).toEqual({
      experiment: id,
      received: 5,
      recorded: 0,
      duplicates: 5,
    });

    const before = await service.analyze(id);
    const unassigned = await failure(
      service.recordOutcomes(id, [
        outcome('o6', 'u5', true, 1),
        outcome('o7', 'ghost-1', true, 1),
        outcome('o8', 'ghost-2', true, 1),
      ]),
    );
    expect(unassigned.status).toBe(400);
    expect(unassigned.message).toMatch(
      /2 unit\(s\).*never served.*'ghost-1', 'ghost-2'.*nothing of this batch was recorded/,
    );
    const changed = await failure(
      service.recordOutcomes(id, [outcome('o9', 'u6', true, 1), outcome('o3', 'u1', true, 8)]),
    );
    expect(changed.status).toBe(400);
    expect(changed.message).toMatch(/different content: 'o3'/);
    const twice = await failure(
      service.recordOutcomes(id, [outcome('o10', 'u6', true, 1), outcome('o10', 'u6', true, 2)]),
    );
    expect(twice.status).toBe(400);
    expect((await store.getOutcomes(id, ['o6', 'o7', 'o8', 'o9', 'o10'])).size).toBe(0);
    expect(await service.analyze(id)).toEqual(before);
    expect((await failure(service.recordOutcomes('no-such-experiment', batch))).status).toBe(404);

    // The analysis: each exposed unit one row, outcomes added up, silent units zeros.
    const expected = new Map<string, VariantTotals>([
      ['control', emptyTotals()],
      ['treatment', emptyTotals()],
    ]);
    const perUnit: Record<string, [boolean, number]> = {
      u0: [true, 12.5],
      u1: [true, 7],
      u3: [false, 1],
      u4: [true, 0],
    };
    for (let i = 0; i < 40; i++) {
      const [c, v] = perUnit[`u${i}`] ?? [false, 0];
      addOutcome(expected.get(i % 2 === 0 ? 'control' : 'treatment') as VariantTotals, c, v);
    }
    const allocation = [
      { name: 'control', share: 0.5 },
      { name: 'treatment', share: 0.5 },
    ];
    expectClose(before, analyzeExperiment(allocation, expected));
    expect(before.variants.map((v) => [v.units, v.conversions])).toEqual([
      [20, 2],
      [20, 1],
    ]);
  });
});
