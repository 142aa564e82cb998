import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventPublisher } from './events';

/**
 * EventPublisher on Amazon EventBridge (PutEvents). A failed entry is an error, so the
 * caller knows the event did not go out.
 *
 * @example
 * const events = new EventBridgePublisher(awsClients().eventBridge, 'mlops.registry', 'default');
 */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly source: string,
    private readonly busName: string,
  ) {}

  async publish(detailType: string, detail: Readonly<Record<string, unknown>>): Promise<void> {
    const res = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: this.source,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
            EventBusName: this.busName,
          },
        ],
      }),
    );
    if ((res.FailedEntryCount ?? 0) > 0) {
      const entry = res.Entries?.find((e) => e.ErrorCode);
      throw new Error(`EventBridge rejected ${detailType}: ${entry?.ErrorCode} ${entry?.ErrorMessage}`);
    }
  }
}
