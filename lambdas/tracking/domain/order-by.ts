import { InvalidParameterError } from '../../platform/errors';
import {
  type AttributeSchema,
  ENTITY_PREFIXES,
  type EntityType,
  fieldValue,
  type Searchable,
} from './filter';
import { clip } from './validation';

/** One `order_by` term: `metrics.auc DESC`, `params.lr`, `attributes.start_time ASC`. */
export interface OrderTerm {
  readonly type: EntityType;
  readonly key: string;
  readonly ascending: boolean;
}

/**
 * Parses MLflow `order_by` strings: `<entity>.<key> [ASC|DESC]`, the entity prefixes being
 * the filter's (`parameters.` included). A key with spaces or other characters is quoted
 * with double quotes or backticks; anything else after the key (`metrics.auc SIDEWAYS`) is
 * an INVALID_PARAMETER_VALUE naming the term, as are unknown entities and attributes.
 *
 * @example
 * parseOrderBy(['metrics.auc DESC', 'params.lr', 'metrics.`val loss` ASC'], RUN_ATTRIBUTES);
 */
export function parseOrderBy(terms: readonly string[] | undefined, attributes: AttributeSchema): OrderTerm[] {
  return (terms ?? []).map((raw) => parseTerm(raw, attributes));
}

function parseTerm(raw: string, attributes: AttributeSchema): OrderTerm {
  const bad = (why: string) => new InvalidParameterError(`Invalid order_by clause '${clip(raw)}': ${why}.`);
  let body = raw.trim();
  let ascending = true;
  // Anchored at the end and free of nested quantifiers: linear in the term's length.
  const dir = /\s(ASC|DESC)$/i.exec(body);
  if (dir) {
    ascending = (dir[1] as string).toUpperCase() === 'ASC';
    body = body.slice(0, dir.index).trimEnd();
  }
  let type: EntityType = 'attribute';
  let rest = body;
  const dot = body.indexOf('.');
  if (dot > 0 && /^[A-Za-z]+$/.test(body.slice(0, dot))) {
    const prefix = body.slice(0, dot);
    const entity = ENTITY_PREFIXES[prefix.toLowerCase()];
    if (!entity) throw bad(`unknown entity '${clip(prefix)}'; use metrics., params., tags. or attributes.`);
    type = entity;
    rest = body.slice(dot + 1);
  }
  let key: string;
  const quote = rest[0];
  if (quote === '`' || quote === '"') {
    const inner = rest.slice(1, -1);
    if (rest.length < 3 || !rest.endsWith(quote) || inner.includes(quote)) {
      throw bad(`unterminated quoted key; use <entity>.${quote}<key>${quote} [ASC|DESC]`);
    }
    key = inner;
  } else if (/^[\w.:/-]+$/.test(rest)) {
    key = rest;
  } else {
    throw bad(
      "use '<entity>.<key> [ASC|DESC]', e.g. 'metrics.auc DESC', with keys containing spaces or other characters quoted in backticks",
    );
  }
  if (type === 'attribute' && !attributes.strings.includes(key) && !attributes.numbers.includes(key)) {
    throw bad(
      `unknown attribute '${clip(key)}'; valid: ${[...attributes.strings, ...attributes.numbers].join(', ')}`,
    );
  }
  return { type, key, ascending };
}

function termValue(e: Searchable, t: OrderTerm): string | number | undefined {
  const v = fieldValue(e, t.type, t.key);
  return typeof v === 'number' && Number.isNaN(v) ? undefined : v;
}

/**
 * A comparator for the terms: entities without the key sort last in either direction,
 * then the fallback decides (start time DESC, id ASC for runs).
 */
export function comparatorFor<T extends Searchable>(
  terms: readonly OrderTerm[],
  fallback: (a: T, b: T) => number,
): (a: T, b: T) => number {
  return (a, b) => {
    for (const t of terms) {
      const va = termValue(a, t);
      const vb = termValue(b, t);
      if (va === undefined && vb === undefined) continue;
      if (va === undefined) return 1;
      if (vb === undefined) return -1;
      const d = va < vb ? -1 : va > vb ? 1 : 0;
      if (d !== 0) return t.ascending ? d : -d;
    }
    return fallback(a, b);
  };
}
