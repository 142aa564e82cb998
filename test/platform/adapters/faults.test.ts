import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clientConfig, DEFAULT_MAX_ATTEMPTS } from '../../../lambdas/platform/aws-clients';
import { bind, defineRoute } from '../../../lambdas/platform/http/route';
import { httpApi } from '../../../lambdas/platform/http/router';
import { S3ObjectStore } from '../../../lambdas/platform/s3-object-store';
import { DynamoExperimentStore } from '../../../lambdas/tracking/store/dynamo-experiment-store';
import { type RunningEngine, startDynamoDb } from '../../../local/engines/dynamodb';
import { type RunningS3rver, startS3rver } from '../../support/s3rver';
import {
  type CannedResponse,
  DYNAMO_THROTTLED,
  DYNAMO_THROTTLING,
  faultyTransport,
  S3_INTERNAL_ERROR,
  S3_SLOW_DOWN,
  s3ErrorResponse,
} from '../../support/sdk-transport';

// Faults are injected in the SDK client's transport, in front of real engines (dynalite,
// s3rver): the clients are configured as the Lambdas' (clientConfig), so the retry strategy
// under test is the one that runs in production.

const TABLE = 'faults';
const BUCKET = 'faults';
let ddb: RunningEngine;
let s3: RunningS3rver;
let plainDoc: DynamoDBDocumentClient;

beforeAll(async () => {
  [ddb, s3] = await Promise.all([startDynamoDb(), startS3rver([BUCKET])]);
  const plain = new DynamoDBClient(clientConfig('dynamodb', { AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint }));
  plainDoc = DynamoDBDocumentClient.from(plain);
  await plain.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
});
afterAll(async () => {
  plainDoc.destroy();
  await Promise.all([ddb.close(), s3.stop()]);
});

/** An experiment store whose DynamoDB transport answers `fault(attempt)` before reaching dynalite. */
function experimentsWith(fault: (attempt: number) => CannedResponse | undefined) {
  const transport = faultyTransport(fault);
  const client = new DynamoDBClient({
    ...clientConfig('dynamodb', { AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint }),
    requestHandler: transport.handler,
  });
  const store = new DynamoExperimentStore(DynamoDBDocumentClient.from(client), TABLE);
  return { store, transport };
}

function objectsWith(fault: (attempt: number) => CannedResponse | undefined) {
  const transport = faultyTransport(fault);
  return { store: new S3ObjectStore(s3.client({ requestHandler: transport.handler })), transport };
}

/** A one-route API (the real router and middleware) whose handler runs `work`. */
function apiRunning(work: () => Promise<unknown>) {
  const route = defineRoute({ method: 'POST', path: '/work', summary: 'work', request: z.object({}) });
  const handler = httpApi([bind(route, async () => ({ result: await work() }))]);
  const event = {
    resource: '/work',
    path: '/work',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: '{}',
    isBase64Encoded: false,
    requestContext: { requestId: 'req-faults' } as APIGatewayProxyEvent['requestContext'],
  } as APIGatewayProxyEvent;
  return async () => {
    const res = await handler(event, {} as Context);
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
  };
}

describe('DynamoDB throttling at the adapter', () => {
  it('a call throttled twice (table, then account) succeeds on the third attempt, applied once', async () => {
    const { store, transport } = experimentsWith((n) =>
      n === 1 ? DYNAMO_THROTTLED : n === 2 ? DYNAMO_THROTTLING : undefined,
    );
    expect(await store.allocateExperimentId()).toBe('1');
    expect(transport.attempts).toBe(3);
    const counter = await plainDoc.send(
      new GetCommand({ TableName: TABLE, Key: { pk: 'COUNTER', sk: 'experiment' } }),
    );
    expect(counter.Item?.n).toBe(1);
  });

  it('throttling that outlasts the retries answers 503 TEMPORARILY_UNAVAILABLE, not 500', async () => {
    const { store, transport } = experimentsWith(() => DYNAMO_THROTTLED);
    const call = apiRunning(() => store.allocateExperimentId());
    const res = await call();
    expect(transport.attempts).toBe(DEFAULT_MAX_ATTEMPTS);
    expect(res.status).toBe(503);
    expect(res.body.error_code).toBe('TEMPORARILY_UNAVAILABLE');
    expect(res.body.message).toMatch(
      new RegExp(`ProvisionedThroughputExceededException after ${DEFAULT_MAX_ATTEMPTS} attempts\\); retry`),
    );
  });

  it('a client error from DynamoDB is not mistaken for throttling', async () => {
    const { store, transport } = experimentsWith(() => ({
      status: 400,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: { __type: 'com.amazonaws.dynamodb.v20120810#ValidationException', message: 'bad key' },
    }));
    const res = await apiRunning(() => store.allocateExperimentId())();
    expect(transport.attempts).toBe(1);
    expect(res.status).not.toBe(503);
    expect(res.body.error_code).not.toBe('TEMPORARILY_UNAVAILABLE');
  });
});

describe('S3 errors at the adapter', () => {
  it('a PUT answered 503 SlowDown twice is retried and stored once', async () => {
    const { store, transport } = objectsWith((n) => (n <= 2 ? S3_SLOW_DOWN : undefined));
    expect(await store.put(BUCKET, 'slow/k', 'value')).toBe(true);
    expect(transport.attempts).toBe(3);
    const reader = new S3ObjectStore(s3.client());
    expect(Buffer.from((await reader.get(BUCKET, 'slow/k')) ?? []).toString()).toBe('value');
  });

  it('a GET answered 500 InternalError then served reads the object', async () => {
    await new S3ObjectStore(s3.client()).put(BUCKET, 'flaky/k', 'bytes');
    const { store, transport } = objectsWith((n) => (n === 1 ? S3_INTERNAL_ERROR : undefined));
    expect(Buffer.from((await store.get(BUCKET, 'flaky/k')) ?? []).toString()).toBe('bytes');
    expect(transport.attempts).toBe(2);
  });

  it('a conditional create racing another write (409 ConditionalRequestConflict) is tried again', async () => {
    const conflict = s3ErrorResponse(409, 'ConditionalRequestConflict', 'A conflicting operation occurred.');
    const first = objectsWith((n) => (n === 1 ? conflict : undefined));
    expect(await first.store.put(BUCKET, 'race/k', 'mine', { ifNoneMatch: true })).toBe(true);
    expect(first.transport.attempts).toBe(2);
    // The other writer won: trying again finds its object, so the create reports false.
    const second = objectsWith((n) => (n === 1 ? conflict : undefined));
    expect(await second.store.put(BUCKET, 'race/k', 'theirs', { ifNoneMatch: true })).toBe(false);
    // A conflict that never settles is a 409 the caller may retry, not a 500.
    const stuck = objectsWith(() => conflict);
    const res = await apiRunning(() => stuck.store.put(BUCKET, 'race/other', 'x', { ifNoneMatch: true }))();
    expect(res.status).toBe(409);
    expect(res.body.error_code).toBe('RESOURCE_CONFLICT');
  });

  it('an S3 that keeps failing answers 503 TEMPORARILY_UNAVAILABLE and writes nothing', async () => {
    for (const fault of [S3_SLOW_DOWN, S3_INTERNAL_ERROR]) {
      const { store, transport } = objectsWith(() => fault);
      const res = await apiRunning(() => store.put(BUCKET, 'down/k', 'never'))();
      expect(transport.attempts).toBe(DEFAULT_MAX_ATTEMPTS);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ error_code: 'TEMPORARILY_UNAVAILABLE' });
      expect(res.body.message).toMatch(/retry the request/);
    }
    expect(await new S3ObjectStore(s3.client()).head(BUCKET, 'down/k')).toBeUndefined();
  });
});
