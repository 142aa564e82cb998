import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Metric } from '../domain/model';
import { DynamoExperimentStore } from './dynamo-experiment-store';
import { markPendingLatest } from './dynamo-latest-repair';
import { DynamoMetricHistory } from './dynamo-metric-history';
import { DynamoRequestLog } from './dynamo-request-log';
import { DynamoRunStore } from './dynamo-run-store';
import type { TrackingStore } from './tracking-store';

/**
 * The TrackingStore on one DynamoDB table: experiments, runs, metric histories and request
 * answers each have their own adapter (same table, disjoint keys, see dynamo-keys.ts).
 * History appends first mark the run item, so a crash before the latest values are raised
 * is repaired by the next reader (dynamo-latest-repair.ts).
 *
 * @example
 * const store = createDynamoTrackingStore(clients.dynamodb, 'mlops-tracking');
 */
export function createDynamoTrackingStore(db: DynamoDBDocumentClient, table: string): TrackingStore {
  const history = new DynamoMetricHistory(db, table);
  const store: TrackingStore = joinAdapters(
    new DynamoExperimentStore(db, table),
    new DynamoRunStore(db, table),
    history,
    new DynamoRequestLog(db, table),
  );
  store.appendMetricHistory = async (runId: string, metrics: readonly Metric[]) => {
    await markPendingLatest(db, table, runId, metrics);
    await history.appendMetricHistory(runId, metrics);
  };
  return store;
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
