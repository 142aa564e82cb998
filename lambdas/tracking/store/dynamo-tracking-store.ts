import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoExperimentStore } from './dynamo-experiment-store';
import { DynamoMetricHistory } from './dynamo-metric-history';
import { DynamoRequestLog } from './dynamo-request-log';
import { DynamoRunStore } from './dynamo-run-store';
import type { TrackingStore } from './tracking-store';

/**
 * The TrackingStore on one DynamoDB table: experiments, runs, metric histories and request
 * answers each have their own adapter (same table, disjoint keys, see dynamo-keys.ts).
 *
 * @example
 * const store = createDynamoTrackingStore(clients.dynamodb, 'mlops-tracking');
 */
export function createDynamoTrackingStore(db: DynamoDBDocumentClient, table: string): TrackingStore {
  return joinAdapters(
    new DynamoExperimentStore(db, table),
    new DynamoRunStore(db, table),
    new DynamoMetricHistory(db, table),
    new DynamoRequestLog(db, table),
  );
}

/** One object with every public method of the adapters, each bound to its own adapter. */
function joinAdapters<A extends object, B extends object, C extends object, D extends object>(
  ...adapters: [A, B, C, D]
): A & B & C & D {
  const joined: Record<string, unknown> = {};
  for (const adapter of adapters) {
    const proto = Object.getPrototypeOf(adapter) as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const member = proto[name];
      if (name !== 'constructor' && typeof member === 'function') joined[name] = member.bind(adapter);
    }
  }
  return joined as A & B & C & D;
}
