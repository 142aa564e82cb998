import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import {
  EXPERIMENT_ATTRIBUTES,
  matches,
  parseFilter,
  RUN_ATTRIBUTES,
  type Searchable,
} from '../../lambdas/tracking/domain/filter';
import { comparatorFor, parseOrderBy } from '../../lambdas/tracking/domain/order-by';
import { compareMetricPoints, encodeDouble, encodeInt64 } from '../../lambdas/tracking/domain/order-key';
import { decodePageToken, encodePageToken, queryFingerprint } from '../../lambdas/tracking/domain/page-token';
import { parseMetricValue, validateAlias, validateKey } from '../../lambdas/tracking/domain/validation';

const run = (
  m: Record<string, number>,
  p: Record<string, string>,
  t: Record<string, string>,
  a: Record<string, string | number>,
): Searchable => ({
  metric: (k) => m[k],
  param: (k) => p[k],
  tag: (k) => t[k],
  attribute: (k) => a[k],
});

describe('the search filter grammar', () => {
  const r = run(
    { auc: 0.91, 'val loss': 0.2 },
    { model: 'gbdt', lr: '0.1' },
    { 'mlflow.source.git.commit': 'abc123' },
    { status: 'FINISHED', run_name: 'Bright-Fox', start_time: 1000 },
  );

  it('joins clauses with AND over metrics, params, tags and attributes', () => {
    expect(
      matches(
        parseFilter(
          "metrics.auc > 0.9 AND params.model = 'gbdt' AND attributes.status = 'FINISHED'",
          RUN_ATTRIBUTES,
        ),
        r,
      ),
    ).toBe(true);
    expect(matches(parseFilter("metrics.auc > 0.95 AND params.model = 'gbdt'", RUN_ATTRIBUTES), r)).toBe(
      false,
    );
  });

  it('reads quoted keys, LIKE, ILIKE, IN and numeric attributes', () => {
    expect(matches(parseFilter('metrics."val loss" <= 0.2', RUN_ATTRIBUTES), r)).toBe(true);
    expect(matches(parseFilter('metrics.`val loss` < 0.2', RUN_ATTRIBUTES), r)).toBe(false);
    expect(matches(parseFilter("tags.`mlflow.source.git.commit` LIKE 'abc%'", RUN_ATTRIBUTES), r)).toBe(true);
    expect(matches(parseFilter("attributes.run_name LIKE 'bright%'", RUN_ATTRIBUTES), r)).toBe(false);
    expect(matches(parseFilter("attributes.run_name ILIKE 'bright%'", RUN_ATTRIBUTES), r)).toBe(true);
    expect(matches(parseFilter("attributes.status IN ('FAILED', 'FINISHED')", RUN_ATTRIBUTES), r)).toBe(true);
    expect(matches(parseFilter("attributes.status NOT IN ('FAILED', 'FINISHED')", RUN_ATTRIBUTES), r)).toBe(
      false,
    );
    expect(matches(parseFilter('attributes.start_time >= 1000', RUN_ATTRIBUTES), r)).toBe(true);
  });

  it('matches nothing for a missing key, != included', () => {
    expect(matches(parseFilter("params.missing != 'x'", RUN_ATTRIBUTES), r)).toBe(false);
  });

  it.each([
    ['metrics.auc >> 0.9', 'expected a value'],
    ["metrics.auc > 0.9 OR params.a = 'b'", 'OR is not supported'],
    ["foo.bar = 'x'", "invalid entity type 'foo'"],
    ['params.lr = 0.1', 'quote the value'],
    ["metrics.auc LIKE '0.9%'", 'cannot compare the number'],
    ["attributes.colour = 'red'", "invalid attribute key 'colour'"],
    ["params.lr = 'unterminated", 'unterminated quote'],
    ["metrics.auc > 0.9 params.x = 'y'", 'expected AND'],
  ])('rejects %s with a message naming the fault', (filter, message) => {
    expect(() => parseFilter(filter, RUN_ATTRIBUTES)).toThrow(InvalidParameterError);
    expect(() => parseFilter(filter, RUN_ATTRIBUTES)).toThrow(message);
  });

  it('accepts bare experiment attributes', () => {
    expect(parseFilter("name LIKE 'exp%'", EXPERIMENT_ATTRIBUTES)).toEqual([
      { type: 'attribute', key: 'name', op: 'LIKE', value: 'exp%' },
    ]);
  });
});

describe('order_by', () => {
  it('sorts by a metric descending with runs missing it last, in either direction', () => {
    const a = run({ auc: 0.5 }, {}, {}, { run_id: 'a' });
    const b = run({ auc: 0.9 }, {}, {}, { run_id: 'b' });
    const c = run({}, {}, {}, { run_id: 'c' });
    const ids = (xs: Searchable[]) => xs.map((x) => x.attribute('run_id'));
    const fallback = () => 0;
    expect(
      ids([a, c, b].sort(comparatorFor(parseOrderBy(['metrics.auc DESC'], RUN_ATTRIBUTES), fallback))),
    ).toEqual(['b', 'a', 'c']);
    expect(
      ids([c, b, a].sort(comparatorFor(parseOrderBy(['metrics.auc'], RUN_ATTRIBUTES), fallback))),
    ).toEqual(['a', 'b', 'c']);
    expect(() => parseOrderBy(['attributes.nope DESC'], RUN_ATTRIBUTES)).toThrow("unknown attribute 'nope'");
  });
});

describe('metric ordering', () => {
  it('orders points by (step, timestamp, value) exactly as the tuple does', () => {
    const point = fc.record({
      step: fc.integer({ min: -1e12, max: 1e12 }),
      timestamp: fc.integer({ min: 0, max: 2 ** 52 }),
      value: fc.double({ noNaN: true, noDefaultInfinity: true }),
    });
    fc.assert(
      fc.property(point, point, (a, b) => {
        const tuple =
          a.step - b.step ||
          a.timestamp - b.timestamp ||
          (a.value === b.value ? 0 : a.value < b.value ? -1 : 1);
        expect(Math.sign(compareMetricPoints(a, b))).toBe(Math.sign(tuple));
      }),
    );
  });

  it('sorts NaN below every number and -0 equal to 0', () => {
    expect(encodeDouble(Number.NaN) < encodeDouble(-Number.MAX_VALUE)).toBe(true);
    expect(encodeDouble(-0)).toBe(encodeDouble(0));
    expect(encodeInt64(-1) < encodeInt64(0)).toBe(true);
  });

  it('clamps infinities and reads textual NaN', () => {
    expect(parseMetricValue('m', 'Infinity')).toBe(Number.MAX_VALUE);
    expect(parseMetricValue('m', '-inf')).toBe(-Number.MAX_VALUE);
    expect(parseMetricValue('m', 'NaN')).toBeNaN();
    expect(() => parseMetricValue('m', 'abc')).toThrow("metric 'm'");
  });
});

describe('page tokens', () => {
  it('round-trip for the same query and are refused for another or when edited', () => {
    const fp = queryFingerprint(['runs', ['1'], 'metrics.a > 1']);
    const token = encodePageToken({ after: 'abc' }, fp);
    expect(decodePageToken(token, fp)).toEqual({ after: 'abc', offset: undefined });
    expect(() => decodePageToken(token, queryFingerprint(['runs', ['2']]))).toThrow('different query');
    expect(() => decodePageToken('not-a-token', fp)).toThrow(InvalidParameterError);
    const edited = Buffer.from(JSON.stringify({ v: 1, q: fp, offset: -5 })).toString('base64url');
    expect(() => decodePageToken(edited, fp)).toThrow('not a token');
  });
});

describe('names', () => {
  it('restricts keys and aliases as MLflow does', () => {
    expect(() => validateKey('param', 'lr')).not.toThrow();
    expect(() => validateKey('param', 'a/b:c d-e.f')).not.toThrow();
    expect(() => validateKey('param', '../x')).toThrow(InvalidParameterError);
    expect(() => validateKey('metric', 'a$b')).toThrow('Invalid metric name');
    expect(() => validateKey('tag', 'x'.repeat(251))).toThrow('250');
    expect(() => validateAlias('champion')).not.toThrow();
    expect(() => validateAlias('latest')).toThrow('reserved');
    expect(() => validateAlias('v3')).toThrow('reserved');
  });
});
