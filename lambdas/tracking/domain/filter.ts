import { InvalidParameterError } from '../../platform/errors';
import { clip } from './validation';

/**
 * MLflow's search filter grammar: clauses joined by AND, each `<entity>.<key> <op> <value>`
 * where the entity is `metrics`, `params`, `tags` or `attributes` (aliases `metric`,
 * `param`, `tag`, `attribute`, `attr`, `run`), keys with special characters quoted with
 * double quotes or backticks, string values in single or double quotes, `IN ('a', 'b')`.
 * Parsing is pure and every error names the offending text and its position.
 */
export type EntityType = 'metric' | 'param' | 'tag' | 'attribute';
export type Comparator = '=' | '!=' | '>' | '>=' | '<' | '<=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';

export interface Clause {
  readonly type: EntityType;
  readonly key: string;
  readonly op: Comparator;
  readonly value: number | string | readonly string[];
}

/** Which attributes an entity kind supports, by value kind. */
export interface AttributeSchema {
  readonly strings: readonly string[];
  readonly numbers: readonly string[];
}

export const RUN_ATTRIBUTES: AttributeSchema = {
  strings: ['run_name', 'status', 'user_id', 'run_id', 'artifact_uri', 'lifecycle_stage'],
  numbers: ['start_time', 'end_time'],
};

export const EXPERIMENT_ATTRIBUTES: AttributeSchema = {
  strings: ['name', 'experiment_id', 'lifecycle_stage'],
  numbers: ['creation_time', 'last_update_time'],
};

export const MODEL_ATTRIBUTES: AttributeSchema = {
  strings: ['name', 'run_id', 'source', 'version', 'current_stage', 'status'],
  numbers: ['creation_timestamp', 'last_updated_timestamp'],
};

/** Entity prefixes MLflow accepts in filters and in `order_by`, by the entity they name. */
export const ENTITY_PREFIXES: Readonly<Record<string, EntityType>> = {
  metrics: 'metric',
  metric: 'metric',
  params: 'param',
  param: 'param',
  parameters: 'param',
  tags: 'tag',
  tag: 'tag',
  attributes: 'attribute',
  attribute: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

const ATTRIBUTE_ALIASES: Record<string, string> = { run_uuid: 'run_id', created: 'start_time' };

type Token =
  | { kind: 'word'; text: string; pos: number }
  | { kind: 'string'; text: string; quote: string; pos: number }
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'op'; text: string; pos: number }
  | { kind: 'punct'; text: '(' | ')' | ','; pos: number };

function fail(filter: string, pos: number, what: string): never {
  throw new InvalidParameterError(`Invalid filter '${clip(filter)}': ${what} (at position ${pos}).`);
}

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const ch = filter[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'" || ch === '"' || ch === '`') {
      let text = '';
      i++;
      for (;;) {
        if (i >= filter.length) fail(filter, start, `unterminated quote ${ch}`);
        const c = filter[i] as string;
        if (c === '\\' && i + 1 < filter.length) {
          text += filter[i + 1];
          i += 2;
        } else if (c === ch && filter[i + 1] === ch) {
          text += ch;
          i += 2;
        } else if (c === ch) {
          i++;
          break;
        } else {
          text += c;
          i++;
        }
      }
      tokens.push({ kind: 'string', text, quote: ch, pos: start });
      continue;
    }
    const num = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(filter.slice(i));
    const prev = tokens[tokens.length - 1];
    if (num && (prev?.kind === 'op' || ch !== '-' || !prev)) {
      const after = filter[i + num[0].length];
      if (after === undefined || !/[\w.]/.test(after)) {
        tokens.push({ kind: 'number', text: num[0], pos: start });
        i += num[0].length;
        continue;
      }
    }
    const op = /^(!=|<>|>=|<=|==|=|>|<)/.exec(filter.slice(i));
    if (op) {
      tokens.push({ kind: 'op', text: op[0] === '<>' ? '!=' : op[0] === '==' ? '=' : op[0], pos: start });
      i += op[0].length;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: 'punct', text: ch, pos: start });
      i++;
      continue;
    }
    const word = /^[\w.:/-]+/.exec(filter.slice(i));
    if (word) {
      tokens.push({ kind: 'word', text: word[0], pos: start });
      i += word[0].length;
      continue;
    }
    fail(filter, start, `unexpected character '${ch}'`);
  }
  return tokens;
}

/**
 * Parses a filter string into clauses, checking each against the entity's attributes and
 * the comparators its value kind allows. An empty filter gives no clauses.
 *
 * @example
 * parseFilter("metrics.auc > 0.9 AND params.model = 'gbdt'", RUN_ATTRIBUTES);
 */
export function parseFilter(filter: string | undefined, attributes: AttributeSchema): Clause[] {
  if (!filter || filter.trim() === '') return [];
  const tokens = tokenize(filter);
  const clauses: Clause[] = [];
  let i = 0;
  const peek = () => tokens[i];
  const end = filter.length;
  for (;;) {
    const identTok = peek();
    if (!identTok) fail(filter, end, 'expected a clause such as metrics.auc > 0.9');
    let type: EntityType;
    let key: string;
    if (identTok.kind === 'word') {
      i++;
      const dot = identTok.text.indexOf('.');
      const prefix = dot === -1 ? '' : identTok.text.slice(0, dot).toLowerCase();
      let rest = dot === -1 ? identTok.text : identTok.text.slice(dot + 1);
      const entity = ENTITY_PREFIXES[prefix];
      if (dot !== -1 && !entity) {
        fail(
          filter,
          identTok.pos,
          `invalid entity type '${clip(identTok.text.slice(0, dot))}'; use metrics., params., tags. or attributes.`,
        );
      }
      if (rest === '' && entity) {
        const quoted = peek();
        if (quoted?.kind !== 'string' || quoted.quote === "'") {
          fail(filter, identTok.pos, `expected a key after '${clip(identTok.text)}'`);
        }
        rest = quoted.text;
        i++;
      }
      type = entity ?? 'attribute';
      key = rest;
    } else if (identTok.kind === 'string' && identTok.quote !== "'") {
      // A quoted bare identifier is an attribute (`"run_name" = 'x'`).
      i++;
      type = 'attribute';
      key = identTok.text;
    } else {
      fail(filter, identTok.pos, `expected an identifier such as metrics.auc, got '${clip(identTok.text)}'`);
    }
    if (type === 'attribute') key = checkAttribute(filter, identTok.pos, key, attributes);

    const opTok = peek();
    let op: Comparator;
    if (opTok?.kind === 'op') {
      op = opTok.text as Comparator;
      i++;
    } else if (opTok?.kind === 'word' && /^(like|ilike|in)$/i.test(opTok.text)) {
      op = opTok.text.toUpperCase() as Comparator;
      i++;
    } else if (
      opTok?.kind === 'word' &&
      /^not$/i.test(opTok.text) &&
      /^in$/i.test(tokens[i + 1]?.text ?? '')
    ) {
      op = 'NOT IN';
      i += 2;
    } else {
      fail(filter, opTok?.pos ?? end, `expected a comparator after '${clip(key)}'`);
    }

    const valueTok = peek();
    let value: Clause['value'];
    if (op === 'IN' || op === 'NOT IN') {
      if (valueTok?.kind !== 'punct' || valueTok.text !== '(') {
        fail(filter, valueTok?.pos ?? end, `expected '(' with a list of quoted values after ${op}`);
      }
      i++;
      const list: string[] = [];
      for (;;) {
        const item = peek();
        if (item?.kind !== 'string')
          fail(filter, item?.pos ?? end, `expected a quoted string in the ${op} list`);
        list.push(item.text);
        i++;
        const sep = peek();
        if (sep?.kind === 'punct' && sep.text === ',') {
          i++;
          continue;
        }
        if (sep?.kind === 'punct' && sep.text === ')') {
          i++;
          break;
        }
        fail(filter, sep?.pos ?? end, `expected ',' or ')' in the ${op} list`);
      }
      value = list;
    } else if (valueTok?.kind === 'number') {
      value = Number(valueTok.text);
      i++;
    } else if (valueTok?.kind === 'string') {
      value = valueTok.text;
      i++;
    } else {
      fail(filter, valueTok?.pos ?? end, `expected a value after '${clip(key)} ${op}'`);
    }
    clauses.push(checkClause(filter, identTok.pos, { type, key, op, value }, attributes));

    const next = peek();
    if (!next) break;
    if (next.kind === 'word' && next.text.toUpperCase() === 'AND') {
      i++;
      continue;
    }
    if (next.kind === 'word' && next.text.toUpperCase() === 'OR') {
      fail(filter, next.pos, 'OR is not supported; clauses can only be joined by AND');
    }
    fail(filter, next.pos, `expected AND between clauses, got '${clip(next.text)}'`);
  }
  return clauses;
}

function checkAttribute(filter: string, pos: number, key: string, attributes: AttributeSchema): string {
  const name = ATTRIBUTE_ALIASES[key] ?? key;
  if (!attributes.strings.includes(name) && !attributes.numbers.includes(name)) {
    fail(
      filter,
      pos,
      `invalid attribute key '${clip(key)}'; valid keys are ${[...attributes.strings, ...attributes.numbers].join(', ')}`,
    );
  }
  return name;
}

const NUMERIC_OPS: readonly Comparator[] = ['=', '!=', '>', '>=', '<', '<='];
const STRING_OPS: readonly Comparator[] = ['=', '!=', 'LIKE', 'ILIKE'];

function checkClause(filter: string, pos: number, c: Clause, attributes: AttributeSchema): Clause {
  const numeric = c.type === 'metric' || (c.type === 'attribute' && attributes.numbers.includes(c.key));
  if (numeric) {
    if (!NUMERIC_OPS.includes(c.op)) {
      fail(
        filter,
        pos,
        `'${c.op}' cannot compare the number ${clip(c.key)}; use one of ${NUMERIC_OPS.join(' ')}`,
      );
    }
    const n = typeof c.value === 'string' && c.value.trim() !== '' ? Number(c.value) : c.value;
    if (typeof n !== 'number' || Number.isNaN(n)) {
      fail(
        filter,
        pos,
        `${clip(c.key)} is numeric; compare it with a number, not ${clip(JSON.stringify(c.value))}`,
      );
    }
    return { ...c, value: n };
  }
  const ops = c.type === 'attribute' ? [...STRING_OPS, 'IN', 'NOT IN'] : STRING_OPS;
  if (!ops.includes(c.op)) {
    fail(
      filter,
      pos,
      `'${c.op}' cannot compare the string ${c.type}.${clip(c.key)}; use one of ${ops.join(', ')}`,
    );
  }
  if (typeof c.value === 'number') {
    fail(filter, pos, `${c.type}.${clip(c.key)} is a string; quote the value ('${c.value}')`);
  }
  if ((c.op === 'LIKE' || c.op === 'ILIKE') && (c.value as string).length > MAX_LIKE_PATTERN) {
    fail(
      filter,
      pos,
      `the ${c.op} pattern is ${(c.value as string).length} characters long; the limit is ${MAX_LIKE_PATTERN}`,
    );
  }
  return c;
}

/** What a filter is evaluated against: lookups by entity type. */
export interface Searchable {
  metric(key: string): number | undefined;
  param(key: string): string | undefined;
  tag(key: string): string | undefined;
  attribute(key: string): string | number | undefined;
}

/** The value a filter clause or order term names: a metric, param, tag or attribute. */
export function fieldValue(
  entity: Searchable,
  type: 'metric' | 'param' | 'tag' | 'attribute',
  key: string,
): string | number | undefined {
  return type === 'metric'
    ? entity.metric(key)
    : type === 'param'
      ? entity.param(key)
      : type === 'tag'
        ? entity.tag(key)
        : entity.attribute(key);
}

/** Longest LIKE/ILIKE pattern a filter may carry; longer ones are refused, not slowly run. */
export const MAX_LIKE_PATTERN = 1000;

type LikeMatcher = (value: string) => boolean;
const likeCache = new Map<string, LikeMatcher>();

/**
 * SQL LIKE (`%` any run, `_` one character) as a matcher that never backtracks: the
 * pattern is split on `%` into segments, the first anchored at the start, the last at the
 * end, and each middle one taken at its leftmost match (the classic wildcard algorithm).
 * The cost is at most value length × pattern length, whatever the pattern (a RegExp of
 * `.*` runs is exponential on `'%%%%b'` against `'aaaa'`).
 *
 * @example
 * likeMatcher('gbdt%', false)('gbdt-v2'); // true
 */
export function likeMatcher(pattern: string, caseInsensitive: boolean): LikeMatcher {
  const cacheKey = `${caseInsensitive ? 'i' : 's'}${pattern}`;
  let m = likeCache.get(cacheKey);
  if (!m) {
    m = buildLikeMatcher(pattern, caseInsensitive);
    if (likeCache.size > 1000) likeCache.clear();
    likeCache.set(cacheKey, m);
  }
  return m;
}

/** Code points (lower-cased one by one for ILIKE), so `_` is one character, not one UTF-16 unit. */
function chars(s: string, fold: boolean): string[] {
  return fold ? Array.from(s, (c) => c.toLowerCase()) : Array.from(s);
}

function buildLikeMatcher(pattern: string, fold: boolean): LikeMatcher {
  const segments = pattern.split('%').map((seg) => chars(seg, fold));
  const first = segments[0] as string[];
  if (segments.length === 1) {
    return (value) => {
      const v = chars(value, fold);
      return v.length === first.length && segmentAt(v, 0, first);
    };
  }
  const last = segments[segments.length - 1] as string[];
  // Consecutive `%` leave empty middle segments, which match anywhere: drop them.
  const middle = segments.slice(1, -1).filter((seg) => seg.length > 0);
  return (value) => {
    const v = chars(value, fold);
    if (v.length < first.length + last.length || !segmentAt(v, 0, first)) return false;
    const end = v.length - last.length;
    if (!segmentAt(v, end, last)) return false;
    let pos = first.length;
    for (const seg of middle) {
      const found = leftmost(v, pos, end, seg);
      if (found === -1) return false;
      pos = found + seg.length;
    }
    return true;
  };
}

/** True when the segment (`_` matching any one character) matches `v` at `at`. */
function segmentAt(v: readonly string[], at: number, seg: readonly string[]): boolean {
  for (let i = 0; i < seg.length; i++) if (seg[i] !== '_' && seg[i] !== v[at + i]) return false;
  return true;
}

/** The leftmost start in [from, end - seg.length] where the segment matches, or -1. */
function leftmost(v: readonly string[], from: number, end: number, seg: readonly string[]): number {
  for (let at = from; at + seg.length <= end; at++) if (segmentAt(v, at, seg)) return at;
  return -1;
}

/**
 * True when the entity satisfies every clause. A missing metric, param or tag satisfies
 * no comparison (as in MLflow's SQL join), `!=` included.
 */
export function matches(clauses: readonly Clause[], entity: Searchable): boolean {
  for (const c of clauses) {
    const actual = fieldValue(entity, c.type, c.key);
    if (actual === undefined) return false;
    if (!compare(actual, c.op, c.value)) return false;
  }
  return true;
}

function compare(actual: string | number, op: Comparator, expected: Clause['value']): boolean {
  if (Array.isArray(expected)) {
    const found = expected.includes(String(actual));
    return op === 'IN' ? found : !found;
  }
  if (typeof expected === 'number') {
    const a = typeof actual === 'number' ? actual : Number(actual);
    if (Number.isNaN(a)) return false;
    switch (op) {
      case '=':
        return a === expected;
      case '!=':
        return a !== expected;
      case '>':
        return a > expected;
      case '>=':
        return a >= expected;
      case '<':
        return a < expected;
      case '<=':
        return a <= expected;
      default:
        return false;
    }
  }
  const a = String(actual);
  const e = expected as string;
  switch (op) {
    case '=':
      return a === e;
    case '!=':
      return a !== e;
    case 'LIKE':
      return likeMatcher(e, false)(a);
    case 'ILIKE':
      return likeMatcher(e, true)(a);
    default:
      return false;
  }
}
