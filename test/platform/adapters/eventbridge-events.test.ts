import { EventBridgeClient, PutEventsRequest$ } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { clientConfig } from '../../../lambdas/platform/aws-clients';
import { TemporarilyUnavailableError, toMlopsError } from '../../../lambdas/platform/errors';
import { EventBridgePublisher } from '../../../lambdas/platform/eventbridge-events';
import {
  type CannedResponse,
  modelViolations,
  type RecordedRequest,
  recordingTransport,
} from '../../support/sdk-transport';

function publisherOn(respond: (req: RecordedRequest, i: number) => CannedResponse) {
  const t = recordingTransport(respond);
  const client = new EventBridgeClient({
    ...clientConfig('eventbridge', { AWS_REGION: 'eu-west-1' }),
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    requestHandler: t.handler,
  });
  const publisher = new EventBridgePublisher(client, 'mlops.registry', 'mlops-bus', { baseDelayMs: 1 });
  return { publisher, requests: t.requests };
}

const accepted: CannedResponse = { body: { FailedEntryCount: 0, Entries: [{ EventId: 'ev-1' }] } };
const entryFailed = (ErrorCode: string, ErrorMessage: string): CannedResponse => ({
  body: { FailedEntryCount: 1, Entries: [{ ErrorCode, ErrorMessage }] },
});

describe('EventBridge publisher on the SDK, with recorded AWS answers', () => {
  it('sends one PutEvents entry the EventBridge model accepts, detail as a JSON string', async () => {
    const { publisher, requests } = publisherOn(() => accepted);
    await publisher.publish('ModelVersionStageChanged', { name: 'churn', version: '3', to: 'Production' });
    expect(requests).toHaveLength(1);
    const r = requests[0]!;
    expect(r.hostname).toBe('events.eu-west-1.amazonaws.com');
    expect(r.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(r.headers['content-type']).toBe('application/x-amz-json-1.1');
    const body = JSON.parse(r.body);
    expect(modelViolations(body, PutEventsRequest$)).toEqual([]);
    expect(body.Entries).toEqual([
      {
        Source: 'mlops.registry',
        DetailType: 'ModelVersionStageChanged',
        Detail: JSON.stringify({ name: 'churn', version: '3', to: 'Production' }),
        EventBusName: 'mlops-bus',
      },
    ]);
  });

  it('tries a throttled entry again: PutEvents answers 200, so the SDK never retries it', async () => {
    const { publisher, requests } = publisherOn((_, i) =>
      i < 2 ? entryFailed('ThrottlingException', 'Rate exceeded') : accepted,
    );
    await publisher.publish('ModelAliasChanged', { alias: 'champion' });
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
  });

  it('an entry still throttled after its attempts is a 503 TEMPORARILY_UNAVAILABLE', async () => {
    const { publisher, requests } = publisherOn(() => entryFailed('InternalFailure', 'Internal error'));
    const err = await publisher.publish('ModelAliasChanged', { alias: 'champion' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemporarilyUnavailableError);
    expect(toMlopsError(err).toBody()).toMatchObject({ error_code: 'TEMPORARILY_UNAVAILABLE' });
    expect((err as Error).message).toMatch(/after 3 attempts \(InternalFailure Internal error\); retry/);
    expect(requests).toHaveLength(3);
  });

  it('a rejected entry (not transient) fails at once, naming the code', async () => {
    const { publisher, requests } = publisherOn(() =>
      entryFailed('NotAuthorizedForSourceException', 'Not authorized for the source.'),
    );
    await expect(publisher.publish('ModelAliasChanged', {})).rejects.toThrow(
      'EventBridge rejected ModelAliasChanged: NotAuthorizedForSourceException Not authorized for the source.',
    );
    expect(requests).toHaveLength(1);
  });
});
