import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

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

/** A metric's latest value as stored on the run item (NaN as the string 'NaN'). */
export type StoredMetric = { v: number | string; t: number; s: number; o: string };

/** A metric value as DynamoDB can store it: NaN is not a number there. */
export const toStoredValue = (v: number): number | string => (Number.isNaN(v) ? 'NaN' : v);
export const fromStoredValue = (v: number | string): number => (typeof v === 'number' ? v : Number.NaN);
