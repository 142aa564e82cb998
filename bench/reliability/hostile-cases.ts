import fc from 'fast-check';
import type { z } from 'zod';
import type { Seeds } from './environment';
import { type CatalogRoute, pathParameterNames } from './routes';
import {
  bareObject,
  encodeComponent,
  jsonBytes,
  percentBytes,
  queryString,
  RawBytes,
  RawJson,
  RawQuery,
  rawRequestBytes,
  type WireRequest,
} from './wire';
import { PROTO_NAMES, validArbitrary } from './zod-arbitrary';

/**
 * Hostile requests for one route: a fixed corpus (prototype-named keys, boundary
 * numbers, invalid UTF-8, wrong types and content types, huge and deep values, path
 * traversal) and a fast-check arbitrary of schema-valid inputs with hostile mutations.
 */

/** One request to try and what kind of answer it may get. */
export interface HostileCase {
  readonly label: string;
  readonly request: WireRequest;
  /** Malformed HTTP: Node's parser may answer a bare 4xx without our error body. */
  readonly protocol?: boolean;
  /** A path-traversal attempt: any write must stay under the run's artifact root. */
  readonly traversal?: boolean;
}

type Input = Record<string, unknown>;

// A LIKE pattern that a backtracking matcher takes exponential time on against 'aaaa...'.
const LIKE_BOMB = `%${'a%'.repeat(24)}b`;

/** Hostile filter strings for `filter` fields: valid strings the filter parser must survive. */
export const FILTER_BOMBS = [
  `attributes.run_name LIKE '${LIKE_BOMB}'`,
  `name LIKE '${LIKE_BOMB}'`,
  `tags.note ILIKE '${LIKE_BOMB}'`,
  `name ILIKE '${'_%'.repeat(24)}b'`,
  "params.lr = '",
  'metrics.loss > 1e309',
  'metrics.loss = NaN',
  "name = 'x' AND ",
  'attributes.start_time > 99999999999999999999',
  "tags.`__proto__` = 'x'",
  "tags.constructor = 'x'",
  `metrics.loss > ${'('.repeat(5000)}`,
  "name IN ('a', ",
];

/** Numbers JSON allows but an int64 or a double cannot hold as written. */
export const BOUNDARY_TOKENS = [
  '9007199254740993',
  '1e309',
  '-1e309',
  '-0',
  '1e-400',
  '18446744073709551616',
  '-9223372036854775809',
  '9223372036854775808',
  '123456789012345678901234567890',
  '1E400',
  '0.1e-999999',
];

/** Strings that parse as special numbers, or overflow, or are not numbers at all. */
export const BOUNDARY_STRINGS = [
  'Infinity',
  '-Infinity',
  'NaN',
  '9223372036854775808',
  '-9223372036854775809',
  '99999999999999999999',
  '1e3',
  ' 1',
  '0x10',
  '',
];

/** Invalid UTF-8 (and NUL) as string content. */
export const BAD_BYTES: readonly (readonly [string, Buffer])[] = [
  ['lone continuation bytes', Buffer.from([0xff, 0xfe])],
  ['overlong slash', Buffer.from([0xc0, 0xaf])],
  ['encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
  ['above U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
  ['raw NUL', Buffer.from([0x61, 0x00, 0x62])],
];

const deep = (n: number) => new RawJson(`${'['.repeat(n)}${']'.repeat(n)}`);

/** Values a field should never be able to take through validation into storage. */
export function hostileValueArbitrary(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...BOUNDARY_TOKENS.map((t) => new RawJson(t))),
    fc.constantFrom(...BOUNDARY_STRINGS),
    fc.constantFrom(...PROTO_NAMES),
    fc.constantFrom(...BAD_BYTES.map(([, b]) => new RawBytes(b))),
    fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      [],
      {},
      [[[]]],
      '\u0000',
      '\ud800',
      '\udfff\ud800',
      '../..',
    ),
    fc.constantFrom(...FILTER_BOMBS),
    fc.constant(bareObject([['__proto__', { polluted: true }]])),
    fc.integer({ min: 1, max: 20_000 }).map((n) => 'x'.repeat(n)),
    fc.integer({ min: 1, max: 5_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
    fc.integer({ min: 10, max: 20_000 }).map(deep),
  );
}

/** Field values that name records the seeded platform really has. */
export function hintValues(seeds: Seeds): Record<string, unknown[]> {
  const root = seeds.artifactRoot;
  return {
    run_id: [seeds.runId],
    run_uuid: [seeds.runId],
    experiment_id: [seeds.experimentId],
    experiment_ids: [[seeds.experimentId]],
    experiment_name: [seeds.experimentName],
    name: [seeds.modelName, seeds.experimentName],
    version: [seeds.modelVersion],
    alias: [seeds.alias],
    key: ['loss', 'lr', 'stage', 'note'],
    metric_key: ['loss'],
    stage: ['Staging', 'Production', 'None', 'Archived'],
    stages: [['Production'], ['None', 'Staging']],
    source: [`runs:/${seeds.runId}/model`, `mlflow-artifacts:/${root}/model`],
    proxy: [`${root}/notes.txt`, `${root}/model/model.onnx`, `${root}/fresh.txt`, `${root}/dir/fresh.bin`],
    path: ['model', root, `${root}/model`],
    push_source_name: [seeds.pushSource],
    features: [[...seeds.featureRefs], [seeds.featureRefs[0]]],
    feature_service: ['clicks_service'],
    entities: [{ [seeds.entityKey]: [1, 2, 99] }],
    df: [{ user_id: [4], ts: [new Date(0).toISOString()], n: [1], label: ['y'] }],
    filter: [
      "attributes.run_name LIKE 'a%'",
      "name LIKE 'a%'",
      'metrics.loss > 0.1',
      "tags.stage = 'seed'",
      ...FILTER_BOMBS,
    ],
    order_by: [['name ASC'], ['attributes.start_time DESC'], ['metrics.loss']],
    max_results: [1, 10, 1000, 50000],
    num_parts: [1, 2],
    // Serving: rows and tensors of the served model's features, so requests reach the model.
    instances: [[...seeds.modelRows], seeds.modelRows.slice(0, 1)],
    dataframe_records: [[...seeds.modelRows]],
    dataframe_split: [
      {
        columns: Object.keys(seeds.modelRows[0] ?? {}),
        data: seeds.modelRows.map((r) => Object.values(r)),
      },
    ],
    inputs: [[...seeds.modelInputs]],
    outputs: [[{ name: 'probabilities' }], [{ name: 'label' }, { name: 'probabilities' }]],
    // Deployments: the served model; its only version is live, so a start is refused.
    model: [seeds.modelName],
    steps: [[100], [5, 25, 50, 100]],
    bake_seconds: [0],
  };
}

/** The object shape of a route's request schema (every route's is an object). */
export function shapeOf(route: CatalogRoute): Record<string, z.ZodType> {
  const def = (
    route.spec.request as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType> } } }
  )._zod.def;
  if (def.type !== 'object' || !def.shape) throw new Error(`${route.id}: request schema is not an object`);
  return def.shape;
}

export function routeArbitrary(route: CatalogRoute, seeds: Seeds): fc.Arbitrary<unknown> {
  const hints = Object.fromEntries(
    Object.entries(hintValues(seeds)).map(([k, vs]) => [k, fc.constantFrom(...vs)]),
  );
  return validArbitrary(route.spec.request, {
    hints,
    recordKeys: fc.constantFrom(seeds.entityKey, 'ts', 'n', 'label'),
  });
}

/** A simple valid input: required fields, plus optional ones that have a seeded value. */
export function canonicalInput(route: CatalogRoute, seeds: Seeds): Input {
  const hints = hintValues(seeds);
  const shape = shapeOf(route);
  const input: Input = {};
  const sample = (key: string, field: z.ZodType): unknown => {
    const hinted = (hints[key] ?? []).find((v) => field.safeParse(v).success);
    if (hinted !== undefined) return hinted;
    // The first of a few generated values that the field accepts.
    return fc.sample(validArbitrary(field), { seed: 1, numRuns: 1 })[0];
  };
  for (const [key, field] of Object.entries(shape)) {
    const d = (field as unknown as { _zod: { def: { type: string } } })._zod.def;
    const optional = d.type === 'optional' || d.type === 'default';
    if (!optional || hints[key] !== undefined) input[key] = sample(key, field);
  }
  // Drop optional fields until the whole input is valid (e.g. "exactly one of").
  for (const key of Object.keys(input)) {
    if (route.spec.request.safeParse(input).success) break;
    const d = (shape[key] as unknown as { _zod: { def: { type: string } } })._zod.def;
    if (d.type === 'optional' || d.type === 'default') delete input[key];
  }
  return input;
}

/** How a route's input goes on the wire by default. */
type Placement = 'query' | 'json' | 'raw';
function placementOf(route: CatalogRoute): Placement {
  if (route.spec.body === 'raw') return 'raw';
  return route.method === 'GET' ? 'query' : 'json';
}

export interface Encoding {
  readonly placement?: Placement;
  /** null: no content-type header. */
  readonly contentType?: string | null;
  readonly headers?: readonly (readonly [string, string])[];
  /** Replaces the body bytes. */
  readonly body?: Buffer;
  /** Appended to the query string, pre-encoded. */
  readonly extraQuery?: string;
  /** The path parameter as sent, pre-encoded (traversal attempts). */
  readonly rawProxy?: string;
}

/** A path parameter's value as sent: `/` stays a separator in a greedy `{proxy+}`, else it is `%2F`. */
function encodePathValue(v: unknown, greedy: boolean): string {
  if (v instanceof RawBytes) return percentBytes(v.bytes);
  if (v instanceof RawJson) return encodeComponent(v.text);
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined');
  return greedy ? s.split('/').map(encodeComponent).join('/') : encodeComponent(s);
}

/** The wire request for an input on a route. */
export function buildRequest(route: CatalogRoute, input: Input, enc: Encoding = {}): WireRequest {
  const params = pathParameterNames(route.path);
  const rest = bareObject(
    Object.keys(input)
      .filter((k) => !params.includes(k))
      .map((k) => [k, input[k]]),
  );
  let path = route.path;
  for (const p of params) {
    const sent = enc.rawProxy ?? encodePathValue(input[p] ?? 'x', route.path.includes(`{${p}+}`));
    path = path.replace(new RegExp(`\\{${p}\\+?\\}`), sent || 'x');
  }
  const placement = enc.placement ?? placementOf(route);
  const headers: (readonly [string, string])[] = [];
  let query = '';
  let body: Buffer | undefined;
  let contentType: string | null = null;
  if (placement === 'query') query = queryString(rest);
  else if (placement === 'raw') {
    query = queryString(rest);
    body = Buffer.from('reliability payload');
    contentType = 'application/octet-stream';
  } else {
    body = jsonBytes(rest);
    contentType = 'application/json';
  }
  if (enc.body) body = enc.body;
  if (enc.contentType !== undefined) contentType = enc.contentType;
  if (contentType !== null && body) headers.push(['content-type', contentType]);
  headers.push(...(enc.headers ?? []));
  if (enc.extraQuery) query = query ? `${query}&${enc.extraQuery}` : enc.extraQuery;
  return { method: route.method, path, query, headers, body };
}

/** Every top-level field (or one made-up field, for a route without any) set to `value`. */
function everyField(route: CatalogRoute, input: Input, value: unknown): Input {
  // Path parameters keep their value: hostile paths are the traversal cases' business.
  const params = pathParameterNames(route.path);
  const keys = Object.keys(shapeOf(route)).filter((k) => !params.includes(k));
  const out = bareObject(Object.entries(input));
  for (const k of keys.length ? keys : ['x']) out[k] = value;
  return out;
}

const TRAVERSALS = (root: string): string[] => [
  '../../../../sentinel.txt',
  `${root}/../../../../../sentinel.txt`,
  `${root}/..%2f..%2f..%2f..%2f..%2fsentinel.txt`,
  `${root}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/sentinel.txt`,
  `${root}/%252e%252e/%252e%252e/sentinel.txt`,
  `${root}/..%5c..%5c..%5csentinel.txt`,
  `${root}/....//....//sentinel.txt`,
  `%2fetc%2fpasswd`,
  `${root}/%00.txt`,
  `${root}/a%00/../../sentinel.txt`,
  `${root}/%ff%fe.txt`,
  `${root}/.`,
  `${root}/./notes.txt`,
  `${root.split('/')[0]}/../${root}/notes.txt`,
  'C:%5cWindows%5cwin.ini',
  `${root}/${'a/'.repeat(600)}x`,
];

/** The fixed hostile corpus of one route, built around a valid input; `heavy` for full size. */
export function corpus(route: CatalogRoute, seeds: Seeds, heavy = true): HostileCase[] {
  const base = canonicalInput(route, seeds);
  const out: HostileCase[] = [];
  const add = (label: string, input: Input, enc: Encoding = {}, extra: Partial<HostileCase> = {}) =>
    out.push({ label, request: buildRequest(route, input, enc), ...extra });
  const placement = placementOf(route);
  const hasJsonBody = placement === 'json';

  add('valid input', base);

  // Prototype-named keys as query parameters, headers and JSON keys.
  add('prototype-named query parameters', base, {
    extraQuery: [
      ...PROTO_NAMES.map((n) => `${n}=x`),
      '__proto__%5Bpolluted%5D=1',
      'constructor%5Bprototype%5D%5Bpolluted%5D=1',
    ].join('&'),
  });
  add('prototype-named headers', base, { headers: PROTO_NAMES.map((n) => [n, 'x'] as const) });
  add('__proto__ key carrying the valid fields', bareObject([['__proto__', { ...base, polluted: true }]]));
  add(
    '__proto__ key beside the valid fields',
    bareObject([...Object.entries(base), ['__proto__', { polluted: true }]]),
  );
  add(
    'constructor.prototype key',
    bareObject([...Object.entries(base), ['constructor', { prototype: { polluted: true } }]]),
  );
  for (const name of PROTO_NAMES) add(`every field = '${name}'`, everyField(route, base, name));

  // Wrong body types and broken JSON.
  if (route.method !== 'GET') {
    const bodies: [string, string][] = [
      ['array body', '[]'],
      ['string body', '"text"'],
      ['number body', '1'],
      ['null body', 'null'],
      ['boolean body', 'true'],
      ['unterminated object', '{'],
      ['empty body', ''],
      ['missing value', '{"a":}'],
      ['trailing garbage', `${jsonBytes(base).toString()} x`],
      ['duplicate keys', `{"${Object.keys(base)[0] ?? 'x'}":1,${jsonBytes(base).toString().slice(1)}`],
    ];
    for (const [label, text] of bodies)
      add(label, base, { body: Buffer.from(text), contentType: 'application/json' });
    add('UTF-8 byte order mark', base, {
      body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), jsonBytes(base)]),
      contentType: 'application/json',
    });
    add('UTF-16 body', base, {
      body: Buffer.from(jsonBytes(base).toString(), 'utf16le'),
      contentType: 'application/json; charset=utf-16',
    });
  }

  // Wrong content types.
  if (hasJsonBody) {
    for (const ct of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      null,
      'APPLICATION/JSON',
      'application/vnd.api+json',
      'application/octet-stream',
      'application/json, text/plain',
      'application/json; charset=latin1',
    ]) {
      add(`content-type ${ct ?? '(none)'}`, base, { contentType: ct });
    }
    add('fields in the query string instead of the body', base, { placement: 'query' });
  } else {
    add('JSON body on a body-less route', base, { body: jsonBytes(base), contentType: 'application/json' });
    add('text body on a body-less route', base, { body: Buffer.from('hello'), contentType: 'text/plain' });
  }

  // Invalid UTF-8, NUL and lone surrogates in every field.
  for (const [label, bytes] of BAD_BYTES)
    add(`every field = ${label}`, everyField(route, base, new RawBytes(bytes)));
  add('every field = lone surrogate', everyField(route, base, '\ud800'));
  add('every field = NUL', everyField(route, base, '\u0000'));

  // Boundary numbers and number-like strings.
  for (const t of BOUNDARY_TOKENS) add(`every field = ${t}`, everyField(route, base, new RawJson(t)));
  for (const s of BOUNDARY_STRINGS) add(`every field = '${s}'`, everyField(route, base, s));

  // Wrong types.
  for (const v of [null, true, [], {}, 0])
    add(`every field = ${JSON.stringify(v)}`, everyField(route, base, v));

  // Huge and deep values.
  if (placement === 'json') {
    add('every field = 1 MiB string', everyField(route, base, 'x'.repeat(1 << 20)));
    // Rejecting a long array element by element is slow; CI size keeps it to 10k.
    const n = heavy ? 100_000 : 10_000;
    add(
      `every field = ${n / 1000}k-element array`,
      everyField(route, base, new RawJson(`[${'1,'.repeat(n - 1)}1]`)),
    );
    add('every field = nested 100k deep', everyField(route, base, deep(100_000)));
  }
  if (placement !== 'query') {
    const pad = (n: number) => Buffer.from(`{"padding":"${'x'.repeat(n)}"}`);
    add('6 MiB body', base, { body: pad(6 << 20) });
    add('11 MiB body', base, { body: pad(11 << 20) });
  }
  if (placement !== 'json') {
    // One field: Node's 16 KiB header limit would answer two of them before the gateway.
    const first = Object.keys(shapeOf(route)).find((k) => !pathParameterNames(route.path).includes(k)) ?? 'x';
    add('8 KiB query value', bareObject([...Object.entries(base), [first, 'q'.repeat(8 << 10)]]));
    add('64 KiB query value', everyField(route, base, 'q'.repeat(64 << 10)), {}, { protocol: true });
    add('every field repeated', everyField(route, base, ['a', 'b']));
    for (const raw of ['%FF', '%00', '%', '%zz', '%C0%AF'])
      add(`every field = ${raw}`, everyField(route, base, new RawQuery(raw)));
  }

  // Path traversal through the path parameter.
  if (pathParameterNames(route.path).length) {
    for (const t of TRAVERSALS(seeds.artifactRoot))
      add(`path parameter ${t.slice(0, 60)}`, base, { rawProxy: t }, { traversal: true });
  }

  // Malformed HTTP (raw bytes).
  const target = buildRequest(route, base);
  const t = `${target.path}${target.query ? `?${target.query}` : ''}`;
  const protocol = (label: string, raw: Buffer) =>
    out.push({ label, request: { ...target, raw }, protocol: true });
  protocol(
    'NUL in a header value',
    rawRequestBytes(route.method, t, [], undefined, Buffer.from('x-test: a\x00b', 'latin1')),
  );
  protocol(
    'obsolete folded header',
    rawRequestBytes(route.method, t, [], undefined, Buffer.from('x-test: a\r\n b', 'latin1')),
  );
  protocol(
    'content-length with chunked encoding',
    rawRequestBytes(
      route.method,
      t,
      [
        ['content-type', 'application/json'],
        ['content-length', '4'],
        ['transfer-encoding', 'chunked'],
      ],
      Buffer.from('2\r\n{}\r\n0\r\n\r\n'),
    ),
  );
  protocol(
    'latin-1 bytes in a header',
    rawRequestBytes(route.method, t, [], undefined, Buffer.from([0x78, 0x3a, 0x20, 0xff, 0xfe])),
  );
  return out;
}

/** A change to a valid input that hostile clients make. */
export type Mutation =
  | { readonly kind: 'set'; readonly field: string; readonly value: unknown }
  | { readonly kind: 'nested'; readonly at: number; readonly key: string; readonly value: unknown }
  | { readonly kind: 'drop'; readonly field: string }
  | { readonly kind: 'content-type'; readonly value: string | null }
  | { readonly kind: 'placement'; readonly value: Placement }
  | { readonly kind: 'proxy'; readonly value: string };

export function mutationArbitrary(route: CatalogRoute, seeds: Seeds): fc.Arbitrary<Mutation> {
  const fields = Object.keys(shapeOf(route));
  const fieldNames = fc.constantFrom(...fields, ...PROTO_NAMES, 'unexpected_field');
  const value = hostileValueArbitrary();
  const options: fc.Arbitrary<Mutation>[] = [
    fc.record({ kind: fc.constant('set' as const), field: fieldNames, value }),
    fc.record({ kind: fc.constant('nested' as const), at: fc.nat(20), key: fieldNames, value }),
    fc.record({
      kind: fc.constant('content-type' as const),
      value: fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        null,
        'application/json; charset=utf-16',
      ),
    }),
    fc.record({
      kind: fc.constant('placement' as const),
      value: fc.constantFrom<Placement>('query', 'json'),
    }),
  ];
  if (fields.length)
    options.push(fc.record({ kind: fc.constant('drop' as const), field: fc.constantFrom(...fields) }));
  if (pathParameterNames(route.path).length) {
    options.push(
      fc.record({
        kind: fc.constant('proxy' as const),
        value: fc.constantFrom(...TRAVERSALS(seeds.artifactRoot)),
      }),
    );
  }
  return fc.oneof(...options);
}

/** Object nodes of a value, depth first, the value itself first. */
function objectNodes(v: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(v)) for (const item of v) objectNodes(item, out);
  else if (
    v !== null &&
    typeof v === 'object' &&
    !(v instanceof RawJson) &&
    !(v instanceof RawBytes) &&
    !(v instanceof RawQuery)
  ) {
    out.push(v as Record<string, unknown>);
    for (const k of Object.keys(v)) objectNodes((v as Record<string, unknown>)[k], out);
  }
  return out;
}

/** A deep copy whose objects have no prototype, so `__proto__` can be set as a key. */
function bareCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(bareCopy);
  // fast-check's records may have a null prototype: copy those too, never mutate its values.
  const proto = v !== null && typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
  if (proto === Object.prototype || proto === null)
    return bareObject(Object.keys(v as object).map((k) => [k, bareCopy((v as Record<string, unknown>)[k])]));
  return v;
}

/** The case a generated input and its mutations make. */
export function mutatedCase(
  route: CatalogRoute,
  input: unknown,
  mutations: readonly Mutation[],
): HostileCase {
  const value = bareCopy(input) as Input;
  const enc: { -readonly [K in keyof Encoding]: Encoding[K] } = {};
  let traversal = false;
  for (const m of mutations) {
    // Copies: a later mutation must not change fast-check's shared constants.
    if (m.kind === 'set') value[m.field] = bareCopy(m.value);
    else if (m.kind === 'drop') delete value[m.field];
    else if (m.kind === 'nested') {
      const nodes = objectNodes(value);
      const node = nodes[m.at % nodes.length] as Record<string, unknown>;
      node[m.key] = bareCopy(m.value);
    } else if (m.kind === 'content-type') enc.contentType = m.value;
    else if (m.kind === 'placement') enc.placement = m.value;
    else if (m.kind === 'proxy') {
      enc.rawProxy = m.value;
      traversal = true;
    }
  }
  const label = mutations.length ? mutations.map((m) => m.kind).join('+') : 'schema-valid input';
  return { label, request: buildRequest(route, value, enc), traversal };
}
