import { gunzipSync, gzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent, CloudWatchLogsLogEvent } from 'aws-lambda';
import { z } from 'zod';

/** One log event of a subscription delivery: CloudWatch's id, epoch milliseconds, the line. */
export type SubscriptionLogEvent = Pick<CloudWatchLogsLogEvent, 'id' | 'timestamp' | 'message'>;

/** A decoded delivery: where the events come from and the events themselves. */
export interface AwsLogsBatch {
  readonly messageType: 'DATA_MESSAGE' | 'CONTROL_MESSAGE';
  readonly owner: string;
  readonly logGroup: string;
  readonly logStream: string;
  readonly subscriptionFilters: readonly string[];
  /** The events in the order CloudWatch sent them; empty for a control message. */
  readonly logEvents: readonly SubscriptionLogEvent[];
}

/** The event is not a CloudWatch Logs subscription delivery (a wiring mistake, not a user's). */
export class AwsLogsEventError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AwsLogsEventError';
  }
}

const DECODED = z.object({
  messageType: z.enum(['DATA_MESSAGE', 'CONTROL_MESSAGE']),
  owner: z.string(),
  logGroup: z.string(),
  logStream: z.string(),
  subscriptionFilters: z.array(z.string()),
  logEvents: z.array(z.object({ id: z.string(), timestamp: z.number(), message: z.string() })),
});

/**
 * Decodes what CloudWatch Logs hands a subscribed Lambda function,
 * `{"awslogs": {"data": base64(gzip(JSON))}}`, on AWS and on the local runtime alike
 * (local/log-subscriptions.ts encodes with {@link encodeAwsLogsBatch}). A control message
 * (CloudWatch checking that the destination is reachable) decodes with no events.
 * Deliveries are at least once: a consumer must be idempotent (the event `id`s are stable).
 *
 * @example
 * export const handler = async (event: unknown) => {
 *   const { logGroup, logEvents } = decodeAwsLogsEvent(event);
 *   for (const e of logEvents) JSON.parse(e.message);
 * };
 */
export function decodeAwsLogsEvent(event: unknown): AwsLogsBatch {
  const data = (event as Partial<CloudWatchLogsEvent> | undefined)?.awslogs?.data;
  if (typeof data !== 'string') {
    throw new AwsLogsEventError(
      'not a CloudWatch Logs subscription event: expected {"awslogs": {"data": ...}}',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8'));
  } catch (cause) {
    throw new AwsLogsEventError('awslogs.data is not base64 of gzipped JSON', { cause });
  }
  const parsed = DECODED.safeParse(json);
  if (!parsed.success) {
    throw new AwsLogsEventError(`awslogs.data has an unexpected shape: ${parsed.error.issues[0]?.message}`);
  }
  const batch = parsed.data;
  return batch.messageType === 'CONTROL_MESSAGE' ? { ...batch, logEvents: [] } : batch;
}

/**
 * Encodes a batch as CloudWatch Logs delivers it to a Lambda function.
 *
 * @example
 * const event = encodeAwsLogsBatch({ messageType: 'DATA_MESSAGE', owner: '000000000000',
 *   logGroup: 'g', logStream: 's', subscriptionFilters: ['f'], logEvents: [] });
 */
export function encodeAwsLogsBatch(batch: AwsLogsBatch): CloudWatchLogsEvent {
  const decoded: CloudWatchLogsDecodedData = {
    ...batch,
    subscriptionFilters: [...batch.subscriptionFilters],
    logEvents: [...batch.logEvents],
  };
  return { awslogs: { data: gzipSync(JSON.stringify(decoded)).toString('base64') } };
}
