import { InvalidParameterError } from '../../platform/errors';
import { type AttributeSchema, type EntityType, fieldValue, type Searchable } from './filter';

/** One `order_by` term: `metrics.auc DESC`, `params.lr`, `attributes.start_time ASC`. */
export interface OrderTerm {
  readonly type: EntityType;
  readonly key: string;
  readonly ascending: boolean;
}

const PREFIXES: Record<string, EntityType> = {
  metrics: 'metric',
  metric: 'metric',
  params: 'param',
  param: 'param',
  tags: 'tag',
  tag: 'tag',
  attributes: 'attribute',
  attribute: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

/**
 * Parses MLflow `order_by` strings. Keys may be quoted with double quotes or backticks;
 * an unknown entity or attribute is an INVALID_PARAMETER_VALUE naming the term.
 *
 * @example
 * parseOrderBy(['metrics.auc DESC', 'params.lr'], RUN_ATTRIBUTES);
 */
export function parseOrderBy(terms: readonly string[] | undefined, attributes: AttributeSchema): OrderTerm[] {
  return (terms ?? []).map((raw) => {
    const m = /^\s*(?:([A-Za-z]+)\.)?(?:`([^`]+)`|"([^"]+)"|([\w.:/\- ]+?))\s*(?:\s(ASC|DESC))?\s*$/i.exec(
      raw,
    );
    if (!m) {
      throw new InvalidParameterError(
        `Invalid order_by clause '${raw}': use '<entity>.<key> [ASC|DESC]', e.g. 'metrics.auc DESC'.`,
      );
    }
    const prefix = m[1]?.toLowerCase();
    const type = prefix ? PREFIXES[prefix] : 'attribute';
    if (!type) {
      throw new InvalidParameterError(
        `Invalid order_by clause '${raw}': unknown entity '${m[1]}'; use metrics., params., tags. or attributes.`,
      );
    }
    const key = (m[2] ?? m[3] ?? m[4] ?? '').trim();
    if (type === 'attribute' && !attributes.strings.includes(key) && !attributes.numbers.includes(key)) {
      throw new InvalidParameterError(
        `Invalid order_by clause '${raw}': unknown attribute '${key}'; valid: ${[...attributes.strings, ...attributes.numbers].join(', ')}.`,
      );
    }
    return { type, key, ascending: (m[5] ?? 'ASC').toUpperCase() === 'ASC' };
  });
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
