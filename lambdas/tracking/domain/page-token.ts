import { createHash } from 'node:crypto';
import { InvalidParameterError } from '../../platform/errors';

/**
 * Opaque page tokens: base64url JSON carrying a position and a fingerprint of the query
 * it belongs to, so a token replayed against another query or edited by hand is a 400
 * instead of a wrong page.
 */
export interface PagePosition {
  /** Index sort key of the last item returned (index-ordered paging). */
  readonly after?: string;
  /** Items to skip (in-memory ordered paging). */
  readonly offset?: number;
}

/** A short, stable fingerprint of the query a token is valid for. */
export function queryFingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

/** Encodes a position for a query as an opaque token. */
export function encodePageToken(position: PagePosition, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ v: 1, q: fingerprint, ...position })).toString('base64url');
}

/**
 * Decodes a token, checking it was issued for the same query; undefined when absent.
 *
 * @example
 * const pos = decodePageToken(req.page_token, queryFingerprint([filter, orderBy]));
 */
export function decodePageToken(token: string | undefined, fingerprint: string): PagePosition | undefined {
  if (token === undefined || token === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidParameterError(
      `Invalid page_token '${token.slice(0, 40)}': not a token this API issued.`,
    );
  }
  const p = parsed as { v?: unknown; q?: unknown; after?: unknown; offset?: unknown };
  const valid =
    p !== null &&
    typeof p === 'object' &&
    p.v === 1 &&
    typeof p.q === 'string' &&
    (p.after === undefined || typeof p.after === 'string') &&
    (p.offset === undefined || (typeof p.offset === 'number' && Number.isInteger(p.offset) && p.offset >= 0));
  if (!valid) {
    throw new InvalidParameterError(
      `Invalid page_token '${token.slice(0, 40)}': not a token this API issued.`,
    );
  }
  if (p.q !== fingerprint) {
    throw new InvalidParameterError(
      'Invalid page_token: it belongs to a different query; repeat the same filter, order_by and ids as the first page.',
    );
  }
  return { after: p.after as string | undefined, offset: p.offset as number | undefined };
}
