// biome-ignore-all lint/suspicious/noExplicitAny: zod 4's internal definitions (`_zod.def`) are not typed for walking.
import fc from 'fast-check';
import type { z } from 'zod';

/**
 * fast-check arbitraries derived from zod 4 schemas: values a schema accepts in its input
 * form. zod-fast-check, the maintained library for this, supports zod 3 and fast-check 3
 * only, so this walks the subset of zod our route schemas use and throws on anything
 * else, so a new kind of schema is noticed rather than silently skipped.
 *
 * @example
 * const arb = validArbitrary(z.object({ run_id: z.string() }), { hints: { run_id: fc.constant('r1') } });
 * fc.sample(arb, 3); // [{ run_id: 'r1' }, { run_id: 'x#' }, ...]
 */
export interface ArbitraryOptions {
  /**
   * Extra values per object field name, mixed with the generated ones: ids of records
   * that exist, so generated requests reach past "not found" into the real code.
   */
  readonly hints?: Readonly<Record<string, fc.Arbitrary<unknown>>>;
  /** Extra keys for records (`entities`, `df`): names the data really has. */
  readonly recordKeys?: fc.Arbitrary<string>;
  /** Longest generated array. @default 4 */
  readonly maxItems?: number;
}

type Def = { type: string; [k: string]: any };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Strings that look ordinary but are JavaScript's own property names. */
export const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype'];

/** Whether an object field of this schema may be left out. */
function isOptional(s: z.ZodType): boolean {
  const d = defOf(s);
  if (d.type === 'optional' || d.type === 'default' || d.type === 'undefined') return true;
  // z.preprocess(...).optional() is covered above; a bare preprocess that maps undefined
  // through is not, and our schemas do not use one.
  return false;
}

interface LengthBounds {
  min?: number;
  max?: number;
}

function lengthBounds(checks: any[] | undefined): LengthBounds {
  const b: LengthBounds = {};
  for (const c of checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'min_length') b.min = Math.max(b.min ?? 0, d.minimum);
    else if (d.check === 'max_length') b.max = Math.min(b.max ?? Number.POSITIVE_INFINITY, d.maximum);
    else if (d.check === 'length_equals') b.min = b.max = d.length;
  }
  return b;
}

function stringArbitrary(d: Def): fc.Arbitrary<string> {
  // A format schema (z.iso.datetime()) carries its format on itself, not in `checks`: random
  // strings would never pass it, and a filter over them would spin for ever.
  if (d.check === 'string_format' && d.format !== 'regex') {
    if (d.format !== 'datetime') throw new Error(`validArbitrary: unsupported string format '${d.format}'`);
    return fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2099-12-31T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((t) => t.toISOString());
  }
  const { min, max } = lengthBounds(d.checks);
  const patterns = (d.checks ?? [])
    .map((c: any) => c._zod.def)
    .filter((c: any) => c.check === 'string_format');
  for (const p of patterns) {
    if (p.format !== 'regex') throw new Error(`validArbitrary: unsupported string format '${p.format}'`);
  }
  const minLength = min ?? 0;
  const maxLength = Math.max(minLength, Math.min(max ?? 24, 24));
  if (patterns.length > 0) {
    const re = patterns[0].pattern as RegExp;
    // fast-check takes no `i` flag; what the case-sensitive pattern matches, `i` matches too.
    return fc
      .stringMatching(new RegExp(re.source, re.flags.replace('i', '')))
      .filter(
        (s) =>
          s.length >= minLength &&
          s.length <= (max ?? Infinity) &&
          patterns.every((p: any) => p.pattern.test(s)),
      );
  }
  return fc.oneof(
    { arbitrary: fc.string({ minLength, maxLength }), weight: 4 },
    { arbitrary: fc.string({ minLength, maxLength, unit: 'grapheme' }), weight: 2 },
    {
      arbitrary: fc
        .constantFrom(...PROTO_NAMES)
        .filter((s) => s.length >= minLength && s.length <= (max ?? Infinity)),
      weight: 1,
    },
  );
}

function numberArbitrary(d: Def): fc.Arbitrary<number> {
  let min: number | undefined;
  let max: number | undefined;
  let minExclusive = false;
  let maxExclusive = false;
  let integer = false;
  for (const c of d.checks ?? []) {
    const cd = c._zod.def;
    if (cd.check === 'number_format') {
      if (!['safeint', 'int32', 'uint32'].includes(cd.format))
        throw new Error(`validArbitrary: unsupported number format '${cd.format}'`);
      integer = true;
      if (cd.format === 'int32') [min, max] = [-(2 ** 31), 2 ** 31 - 1];
      if (cd.format === 'uint32') [min, max] = [0, 2 ** 32 - 1];
    } else if (cd.check === 'greater_than') {
      min = Number(cd.value);
      minExclusive = !cd.inclusive;
    } else if (cd.check === 'less_than') {
      max = Number(cd.value);
      maxExclusive = !cd.inclusive;
    } else if (cd.check === 'multiple_of') {
      throw new Error('validArbitrary: unsupported number check multiple_of');
    }
  }
  if (integer) {
    const lo = Math.max(
      min === undefined ? Number.MIN_SAFE_INTEGER : min + (minExclusive ? 1 : 0),
      Number.MIN_SAFE_INTEGER,
    );
    const hi = Math.min(
      max === undefined ? Number.MAX_SAFE_INTEGER : max - (maxExclusive ? 1 : 0),
      Number.MAX_SAFE_INTEGER,
    );
    return fc.oneof(
      fc.integer({ min: Math.max(lo, -1000), max: Math.min(hi, 1000) }),
      fc.integer({ min: lo, max: hi }),
    );
  }
  return fc.double({
    noNaN: true,
    noDefaultInfinity: true,
    min: min ?? -Number.MAX_VALUE,
    max: max ?? Number.MAX_VALUE,
    minExcluded: minExclusive,
    maxExcluded: maxExclusive,
  });
}

function hasCustomChecks(d: Def): boolean {
  return (d.checks ?? []).some((c: any) => c._zod.def.check === 'custom');
}

/** Valid values of `schema` (its input side), as fast-check generates them. */
export function validArbitrary(schema: z.ZodType, options: ArbitraryOptions = {}): fc.Arbitrary<unknown> {
  const maxItems = options.maxItems ?? 4;
  const hints = options.hints ?? {};

  const walk = (s: z.ZodType): fc.Arbitrary<unknown> => {
    const d = defOf(s);
    let arb: fc.Arbitrary<unknown>;
    switch (d.type) {
      case 'string':
        arb = stringArbitrary(d);
        break;
      case 'number':
        arb = numberArbitrary(d);
        break;
      case 'boolean':
        arb = fc.boolean();
        break;
      case 'null':
        arb = fc.constant(null);
        break;
      case 'undefined':
        arb = fc.constant(undefined);
        break;
      case 'unknown':
      case 'any':
        arb = fc.jsonValue({ maxDepth: 2 });
        break;
      case 'literal':
        arb = fc.constantFrom(...(d.values as unknown[]));
        break;
      case 'enum':
        arb = fc.constantFrom(...Object.values(d.entries as Record<string, unknown>));
        break;
      case 'optional':
      case 'default':
        // The field itself may be left out; the object builder handles that. Inside an
        // array or union, undefined is not a JSON value, so generate the inner value.
        arb = walk(d.innerType);
        break;
      case 'nullable':
        arb = fc.oneof(fc.constant(null), walk(d.innerType));
        break;
      case 'array': {
        const { min, max } = lengthBounds(d.checks);
        arb = fc.array(walk(d.element), {
          minLength: min ?? 0,
          maxLength: Math.max(min ?? 0, Math.min(max ?? maxItems, maxItems)),
        });
        break;
      }
      case 'object': {
        const model: Record<string, fc.Arbitrary<unknown>> = {};
        const required: string[] = [];
        for (const [key, field] of Object.entries(d.shape as Record<string, z.ZodType>)) {
          const generated = walk(field);
          const hint = hints[key];
          // A hint that the field's schema rejects is useless; keep only accepted ones.
          model[key] = hint
            ? fc.oneof(
                { arbitrary: hint.filter((v) => field.safeParse(v).success), weight: 3 },
                { arbitrary: generated, weight: 1 },
              )
            : generated;
          if (!isOptional(field)) required.push(key);
        }
        arb = fc.record(model, { requiredKeys: required });
        break;
      }
      case 'record': {
        const keyDef = defOf(d.keyType);
        if (keyDef.type !== 'string')
          throw new Error(`validArbitrary: unsupported record key '${keyDef.type}'`);
        const keys = options.recordKeys
          ? fc.oneof(
              { arbitrary: options.recordKeys, weight: 3 },
              { arbitrary: stringArbitrary(keyDef), weight: 1 },
            )
          : stringArbitrary(keyDef);
        arb = fc.dictionary(keys, walk(d.valueType), { maxKeys: maxItems, noNullPrototype: true });
        break;
      }
      case 'union':
        arb = fc.oneof(...(d.options as z.ZodType[]).map(walk));
        break;
      case 'pipe': {
        // z.preprocess(fn, out) is a pipe from a transform: generate what `out` accepts
        // (the preprocessors we use pass such values through). x.transform(fn) is a pipe
        // into a transform: generate what `x` accepts.
        const inType = defOf(d.in).type;
        arb = walk(inType === 'transform' ? d.out : d.in);
        break;
      }
      default:
        throw new Error(`validArbitrary: unsupported zod type '${d.type}'`);
    }
    // Checks the walker cannot see through (refine, regex and length together) are
    // enforced by filtering with the schema itself.
    return hasCustomChecks(d) || d.type === 'string' ? arb.filter((v) => s.safeParse(v).success) : arb;
  };

  return walk(schema);
}
