import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPlainPredictRequest, predictRoute } from '../../lambdas/serving/api/routes';

const scalar = fc.oneof(
  fc.string(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
// Values a wrong fast check would let through: nested values, NaN, infinities, empty strings.
const odd = fc.oneof(
  fc.constant(Number.NaN),
  fc.constant(Number.POSITIVE_INFINITY),
  fc.constant(''),
  fc.constant('x'.repeat(257)),
  fc.array(scalar, { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), scalar, { maxKeys: 2 }),
  fc.constant(undefined),
);
const value = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: odd });
const key = fc.oneof(fc.constantFrom('user_id', 'age', 'plan', '__proto__', 'constructor'), fc.string());
const row = fc.dictionary(key, value, { maxKeys: 4 });
const payload = fc.oneof(row, fc.array(row, { maxLength: 3 }), value);
const name = fc.oneof(
  { weight: 4, arbitrary: fc.constant('churn') },
  { weight: 1, arbitrary: fc.oneof(fc.constant(''), fc.string({ maxLength: 300 }), fc.integer()) },
);
const unitId = fc.oneof(fc.string({ maxLength: 300 }), fc.integer());
// Mostly one payload of the right shape (what clients send), with odd values mixed in.
const onePayload = fc.oneof(
  fc.record({ entities: fc.dictionary(key, fc.array(value, { maxLength: 4 }), { maxKeys: 3 }) }),
  fc.record({ instances: fc.array(row, { maxLength: 3 }) }),
  fc.record({ dataframe_records: fc.array(row, { maxLength: 3 }) }),
);
const anything = fc.record(
  {
    entities: payload,
    instances: payload,
    dataframe_records: payload,
    dataframe_split: fc.record({ columns: fc.array(fc.string(), { maxLength: 2 }), data: fc.constant([]) }),
    other: value,
  },
  { requiredKeys: [] },
);
const request = fc
  .tuple(
    name,
    fc.oneof({ weight: 3, arbitrary: onePayload }, { weight: 1, arbitrary: anything }),
    fc.option(unitId),
  )
  .map(([n, body, unit]) => ({ ...body, name: n, ...(unit === null ? {} : { unit_id: unit }) }));

describe('the predict route’s fast request check', () => {
  it('accepts only what the schema accepts, and the schema returns the same request', () => {
    let accepted = 0;
    fc.assert(
      fc.property(request, (raw) => {
        // As readInput builds it: a parsed JSON body (no undefined, no prototype tricks) plus the path.
        const text = JSON.stringify(raw);
        const input = { ...(JSON.parse(text) as Record<string, unknown>), name: raw.name };
        if (!isPlainPredictRequest(input)) return;
        accepted++;
        const parsed = predictRoute.request.safeParse(input);
        expect(parsed.success).toBe(true);
        expect(parsed.data).toEqual(input);
      }),
      { numRuns: 3000, seed: 12 },
    );
    // The generator must reach the fast path often enough for the property to mean something.
    expect(accepted).toBeGreaterThan(300);
  });

  it('leaves the common requests to no schema and a bad one to the schema', () => {
    expect(isPlainPredictRequest({ name: 'churn', entities: { user_id: [1, 2] } })).toBe(true);
    expect(isPlainPredictRequest({ name: 'churn', instances: [{ age: 31, plan: 'pro', x: null }] })).toBe(
      true,
    );
    expect(isPlainPredictRequest({ name: 'churn', dataframe_records: [{ a: true }], unit_id: 'u1' })).toBe(
      true,
    );
    // Two payloads, none, a split frame, a nested value, an unknown key: the schema answers.
    expect(isPlainPredictRequest({ name: 'churn', entities: { u: [1] }, instances: [] })).toBe(false);
    expect(isPlainPredictRequest({ name: 'churn' })).toBe(false);
    expect(isPlainPredictRequest({ name: 'churn', dataframe_split: { columns: ['a'], data: [[1]] } })).toBe(
      false,
    );
    expect(isPlainPredictRequest({ name: 'churn', instances: [{ a: [1] }] })).toBe(false);
    expect(isPlainPredictRequest({ name: 'churn', entities: { u: [1] }, extra: 1 })).toBe(false);
  });
});
