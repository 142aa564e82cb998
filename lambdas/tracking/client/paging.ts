import { InvalidParameterError } from '../../platform/errors';

/** One page of a paged MLflow listing. */
export interface Page<T> {
  items: T[];
  next?: string;
}

/**
 * Follows `next_page_token` until the listing ends or `max` items are read, asking each
 * page for no more than is still wanted. The server's page limit caps `pageSize`.
 *
 * @example
 * const runs = await collectPages((token, size) => searchPage(token, size), { pageSize: 500, max: 1200 });
 */
export async function collectPages<T>(
  fetchPage: (token: string | undefined, size: number) => Promise<Page<T>>,
  opts: { pageSize: number; max?: number },
): Promise<T[]> {
  const max = opts.max ?? Number.POSITIVE_INFINITY;
  if (!(max >= 1)) throw new InvalidParameterError(`max results must be at least 1 (got ${max})`);
  if (!Number.isInteger(opts.pageSize) || opts.pageSize < 1)
    throw new InvalidParameterError(`page size must be a positive integer (got ${opts.pageSize})`);
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetchPage(token, Math.min(opts.pageSize, max - out.length));
    out.push(...page.items);
    token = page.next;
  } while (token && out.length < max);
  return out.length > max ? out.slice(0, max) : out;
}

/** A string literal for MLflow's filter grammar (single quotes, backslash-escaped). */
export function filterLiteral(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
