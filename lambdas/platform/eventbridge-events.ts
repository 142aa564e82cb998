import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { TemporarilyUnavailableError } from './errors';
import type { EventPublisher } from './events';

/** Tuning for entries PutEvents accepts as a call but fails one by one. */
export interface EventBridgePublisherOptions {
  /** Tries of an entry that fails with a transient code. @default 3 */
  readonly maxAttempts?: number;
  /** Backoff base in milliseconds (full jitter, doubling). @default 100 */
  readonly baseDelayMs?: number;
}

// PutEvents answers 200 and reports these per entry, so the SDK's retry never sees them.
const TRANSIENT_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

/**
 * EventPublisher on Amazon EventBridge (PutEvents). A failed entry is an error, so the
 * caller knows the event did not go out; a throttled or internally failed entry is tried
 * again first, and if it still fails the error is a 503 the caller may retry.
 *
 * @example
 * const events = new EventBridgePublisher(awsClients().eventBridge, 'mlops.registry', 'default');
 */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly source: string,
    private readonly busName: string,
    private readonly options: EventBridgePublisherOptions = {},
  ) {}

  async publish(detailType: string, detail: Readonly<Record<string, unknown>>): Promise<void> {
    const entry = {
      Source: this.source,
      DetailType: detailType,
      Detail: JSON.stringify(detail),
      EventBusName: this.busName,
    };
    const maxAttempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const res = await this.client.send(new PutEventsCommand({ Entries: [entry] }));
      if ((res.FailedEntryCount ?? 0) === 0) return;
      const failed = res.Entries?.find((e) => e.ErrorCode);
      const why = `${failed?.ErrorCode} ${failed?.ErrorMessage ?? ''}`.trim();
      if (!TRANSIENT_ENTRY_ERRORS.has(failed?.ErrorCode ?? '')) {
        throw new Error(`EventBridge rejected ${detailType}: ${why}`);
      }
      if (attempt >= maxAttempts) {
        throw new TemporarilyUnavailableError(
          `EventBridge did not accept event ${detailType} after ${attempt} attempts (${why}); retry the request after a short wait`,
        );
      }
      const cap = (this.options.baseDelayMs ?? 100) * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, Math.random() * cap));
    }
  }
}
