import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import {
  EXPERIMENT_ATTRIBUTES,
  likeMatcher,
  MAX_LIKE_PATTERN,
  matches,
  parseFilter,
  RUN_ATTRIBUTES,
  type Searchable,
} from '../../lambdas/tracking/domain/filter';
import { comparatorFor, parseOrderBy } from '../../lambdas/tracking/domain/order-by';
import {
  compareMetricPoints,
  decodeDouble,
  encodeDouble,
  encodeInt64,
} from '../../lambdas/tracking/domain/order-key';
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

  it('echoes at most 100 characters of a long filter in its error', () => {
    const filter = `params.x = 'a' AND ${'y'.repeat(20_000)}`;
    expect(() => parseFilter(filter, RUN_ATTRIBUTES)).toThrow(InvalidParameterError);
    try {
      parseFilter(filter, RUN_ATTRIBUTES);
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(400);
      expect((err as Error).message).toContain('…');
    }
  });

  it('accepts bare experiment attributes', () => {
    expect(parseFilter("name LIKE 'exp%'", EXPERIMENT_ATTRIBUTES)).toEqual([
      { type: 'attribute', key: 'name', op: 'LIKE', value: 'exp%' },
    ]);
  });
});

/** SQL LIKE by dynamic programming over code points: the definition, to compare against. */
function likeReference(pattern: string, value: string): boolean {
  const p = Array.from(pattern);
  const v = Array.from(value);
  let row = [true, ...v.map(() => false)];
  for (const c of p) {
    const next = [c === '%' && row[0] === true];
    for (let j = 1; j <= v.length; j++) {
      next[j] =
        c === '%'
          ? row[j] === true || next[j - 1] === true
          : row[j - 1] === true && (c === '_' || c === v[j - 1]);
    }
    row = next;
  }
  return row[v.length] === true;
}

describe('LIKE and ILIKE', () => {
  it('agree with the textbook definition on any pattern and value', () => {
    const text = (chars: string[]) =>
      fc.array(fc.constantFrom(...chars), { maxLength: 12 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text(['a', 'b', '%', '_', '€']), text(['a', 'b', '€']), (pattern, value) => {
        expect(likeMatcher(pattern, false)(value)).toBe(likeReference(pattern, value));
      }),
      { numRuns: 3000 },
    );
    expect(likeMatcher('GB%', true)('gbdt')).toBe(true);
    expect(likeMatcher('GB%', false)('gbdt')).toBe(false);
    // `_` is one character, an astral one included.
    expect(likeMatcher('a_b', false)('a😀b')).toBe(true);
  });

  it('answers patterns that make a backtracking RegExp run for hours, at once', () => {
    // As a RegExp (`^.*.*…b$`) each of these backtracks through every split of the value.
    const value = 'a'.repeat(30);
    expect(likeMatcher(`${'%'.repeat(30)}b`, false)(value)).toBe(false);
    expect(likeMatcher(`${'%a'.repeat(15)}%b`, false)(value)).toBe(false);
    expect(likeMatcher(`${'%_'.repeat(31)}%`, true)(value)).toBe(false);
    expect(likeMatcher(`${'%a'.repeat(15)}%`, false)(value)).toBe(true);
    const r = run({}, { p: value }, {}, {});
    expect(matches(parseFilter(`params.p LIKE '${'%'.repeat(14)}b'`, RUN_ATTRIBUTES), r)).toBe(false);
  });

  it(`refuses a pattern longer than ${MAX_LIKE_PATTERN} characters`, () => {
    const long = `params.p LIKE '${'%a'.repeat(MAX_LIKE_PATTERN / 2 + 1)}'`;
    expect(() => parseFilter(long, RUN_ATTRIBUTES)).toThrow(`the limit is ${MAX_LIKE_PATTERN}`);
    expect(() =>
      parseFilter(`params.p ILIKE '${'a'.repeat(MAX_LIKE_PATTERN)}'`, RUN_ATTRIBUTES),
    ).not.toThrow();
  });
});

describe('order_by', () => {
  it('takes the same entity prefixes as the filter, parameters. included, and quoted keys', () => {
    expect(
      parseOrderBy(['parameters.lr DESC', 'metrics.`val loss`', 'run.start_time'], RUN_ATTRIBUTES),
    ).toEqual([
      { type: 'param', key: 'lr', ascending: false },
      { type: 'metric', key: 'val loss', ascending: true },
      { type: 'attribute', key: 'start_time', ascending: true },
    ]);
  });

  it.each([
    ['metrics.auc SIDEWAYS'],
    ['metrics.val loss DESC'],
    ['metrics.`auc DESC'],
    ['nope.auc'],
    [`metrics.auc ${' '.repeat(50_000)}x`],
  ])('refuses %s', (term) => {
    expect(() => parseOrderBy([term], RUN_ATTRIBUTES)).toThrow(InvalidParameterError);
  });

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

  it('decodes every double back bit for bit, DynamoDB-unrepresentable ones included', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        expect(Object.is(decodeDouble(encodeDouble(x)), x === 0 ? 0 : x)).toBe(true);
      }),
    );
    for (const x of [1e20, 2 ** 53 + 2, 1e-200, 5e-324, -1e300, Number.MAX_VALUE, -Infinity])
      expect(decodeDouble(encodeDouble(x))).toBe(x);
    expect(decodeDouble(encodeDouble(Number.NaN))).toBeNaN();
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
    expect(parseMetricValue('m', 'inf')).toBe(Number.MAX_VALUE);
    expect(parseMetricValue('m', '1e400')).toBe(Number.MAX_VALUE);
    expect(parseMetricValue('m', Number.POSITIVE_INFINITY)).toBe(Number.MAX_VALUE);
    expect(parseMetricValue('m', '1e-200')).toBe(1e-200);
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
