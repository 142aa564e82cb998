import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Seeds } from '../../bench/reliability/environment';
import { buildRequest, canonicalInput, routeArbitrary } from '../../bench/reliability/hostile-cases';
import { pathParameterNames, routeCatalogue } from '../../bench/reliability/routes';
import { validArbitrary } from '../../bench/reliability/zod-arbitrary';
import { synthTemplate } from '../../local/synth';
import { readTemplate } from '../../local/template';

const seeds: Seeds = {
  experimentId: '1',
  experimentName: 'exp',
  runId: 'r0123456789abcdef',
  artifactRoot: '1/r0123456789abcdef/artifacts',
  modelName: 'model',
  modelVersion: '1',
  alias: 'champion',
  modelRows: [
    { spend: 35, plan: 'basic' },
    { spend: null, plan: 'pro' },
  ],
  modelInputs: [
    { name: 'spend', shape: [2], datatype: 'FP64', data: [35, null] },
    { name: 'plan', shape: [2], datatype: 'BYTES', data: ['basic', 'pro'] },
  ],
  pushSource: 'clicks',
  featureRefs: ['clicks:n'],
  entityKey: 'user_id',
};
const { routes } = routeCatalogue(readTemplate(synthTemplate({ stage: 'local' })));

/** The input a route's router sees for a wire request: query (repeated keys as arrays), JSON body, path parameters. */
function decode(
  route: (typeof routes)[number],
  req: ReturnType<typeof buildRequest>,
): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(req.query)) {
    const prev = input[k];
    input[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  if (req.body && route.spec.body !== 'raw') Object.assign(input, JSON.parse(req.body.toString('utf8')));
  const template = route.path.split('/');
  const sent = req.path.split('/');
  for (const name of pathParameterNames(route.path)) {
    const at = template.findIndex((s) => s.startsWith(`{${name}`));
    // A greedy `{name+}` takes the rest of the path; `{name}` one segment.
    const greedy = template[at]?.endsWith('+}');
    input[name] = (greedy ? sent.slice(at) : sent.slice(at, at + 1)).map(decodeURIComponent).join('/');
  }
  return input;
}

describe('schema-derived arbitraries', () => {
  it('generate only values their schema accepts, for the zod kinds the routes use', () => {
    const schema = z
      .strictObject({
        id: z
          .string()
          .regex(/^[a-z]+$/)
          .min(2),
        n: z.number().int().min(1).max(10),
        x: z.number().gt(0),
        tags: z.array(z.object({ key: z.string(), value: z.string().default('') })).max(3),
        kind: z.enum(['A', 'B']).optional(),
        any: z.union([z.string(), z.null(), z.boolean()]),
        rec: z.record(z.string(), z.array(z.number())),
        piped: z.string().regex(/^\d+$/).transform(Number).optional(),
      })
      .refine((o) => o.id !== 'zz', 'not zz');
    fc.assert(
      fc.property(validArbitrary(schema), (v) => schema.safeParse(v).success),
      { numRuns: 300 },
    );
  });

  it('refuses a zod kind it does not know, rather than skipping it', () => {
    expect(() => validArbitrary(z.object({ when: z.date() }))).toThrow(/unsupported zod type 'date'/);
  });

  it.each(routes.map((r) => [r.id, r]))(
    '%s: generated requests decode to inputs its schema accepts',
    (_id, route) => {
      expect(
        route.spec.request.safeParse(decode(route, buildRequest(route, canonicalInput(route, seeds))))
          .success,
      ).toBe(true);
      fc.assert(
        fc.property(routeArbitrary(route, seeds), (input) => {
          const decoded = decode(route, buildRequest(route, input as Record<string, unknown>));
          const res = route.spec.request.safeParse(decoded);
          if (!res.success) throw new Error(`${JSON.stringify(decoded)}: ${res.error.message}`);
        }),
        { numRuns: 100, seed: 7 },
      );
    },
  );
});
