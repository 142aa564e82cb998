import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { decodeDouble, encodeDouble } from '../domain/order-key';

/** Small helpers for building DynamoDB expressions and reading whole partitions. */

/**
 * Collects expression attribute names and values under short placeholders, so keys with
 * any characters (`mlflow.runName`, `a b:c`) are safe inside an expression.
 */
export class ExpressionBuilder {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly byName = new Map<string, string>();
  private n = 0;
  private v = 0;

  /** A placeholder for an attribute name (reused for the same name). */
  name(attr: string): string {
    let ph = this.byName.get(attr);
    if (!ph) {
      ph = `#n${this.n++}`;
      this.byName.set(attr, ph);
      this.names[ph] = attr;
    }
    return ph;
  }

  /** A placeholder for a value. */
  value(v: unknown): string {
    const ph = `:v${this.v++}`;
    this.values[ph] = v;
    return ph;
  }

  /** The names and values for a command (omitting empty maps, which DynamoDB rejects). */
  attributes(): {
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    return {
      ...(Object.keys(this.names).length ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/** Every item a query matches, following LastEvaluatedKey page by page. */
export async function queryAll(
  db: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await db.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    out.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}

/**
 * A metric's latest value as stored on the run item. `x` is the value as encodeDouble's 16
 * hex digits: lossless for every double (DynamoDB numbers stop at 38 digits and
 * 1e-130..1e126, and the SDK refuses integers past 2^53) and ordered as the numbers are, so
 * the search prefilter compares it as a string. Items written before `x` hold `v` (a
 * number, or 'NaN').
 */
export type StoredMetric = { x?: string; v?: number | string; t: number; s: number; o: string };

/** The stored form of a metric value (see StoredMetric). */
export const toStoredValue = (v: number): string => encodeDouble(v);

/** A metric value back from an item: `x`, else the older `v`. */
export function fromStoredValue(item: { x?: unknown; v?: unknown }): number {
  if (typeof item.x === 'string') return decodeDouble(item.x);
  return typeof item.v === 'number' ? item.v : Number.NaN;
}
