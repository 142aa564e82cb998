import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { CfnRestApi } from 'aws-cdk-lib/aws-apigateway';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { PlatformFunction } from '../../lib/private/platform-function';
import { matchesMediaType, toProxyEvent } from '../../local/proxy-event';
import { startLocalRuntime } from '../../local/runtime';
import { type CfnTemplate, readTemplate } from '../../local/template';
import { BYTES, bytesRoutes } from './fixtures/bytes-handler';
import { echoRoute } from './fixtures/echo-handler';

const apiUrl = inject('apiUrl');
// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
const json = (res: Response): Promise<any> => res.json();

describe('the local gateway serving the synthesized platform', () => {
  it('answers GET /health with 200', async () => {
    const res = await fetch(`${apiUrl}/health`);
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: 'ok', stage: 'local' });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers an unknown route with 404 ENDPOINT_NOT_FOUND', async () => {
    const res = await fetch(`${apiUrl}/no/such/route`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({ error_code: 'ENDPOINT_NOT_FOUND' });
  });

  it('answers query keys and headers named like object properties as any other (no 502)', async () => {
    for (const name of ['toString', 'constructor', '__proto__', 'valueOf', 'hasOwnProperty']) {
      const query = await fetch(`${apiUrl}/health?${name}=1&${name}=2`);
      expect(query.status, name).toBe(200);
      const header = await fetch(`${apiUrl}/health`, { headers: { [name]: 'x' } });
      expect(header.status, name).toBe(200);
    }
  });

  it('answers a malformed path with 400', async () => {
    const res = await fetch(`${apiUrl}/health/%E0%A4%A`);
    expect([400, 404]).toContain(res.status);
    expect((await json(res)).error_code).toMatch(/BAD_REQUEST|ENDPOINT_NOT_FOUND/);
  });
});

describe('a route added in CDK', () => {
  let runtime: Awaited<ReturnType<typeof startLocalRuntime>>;
  let dataDir: string;

  beforeAll(async () => {
    // Add a function and a route the way an area construct does, then synthesize:
    // the gateway must serve it with no list of routes kept anywhere else.
    const { app, stack } = buildApp({ stage: 'routes' }, { nag: false, skipBundling: true });
    const platform = stack.platform;
    const echo = new PlatformFunction(platform, 'Echo', {
      ...platform.functionDefaults('echo'),
      entry: 'test/platform/fixtures/echo-handler.ts',
      environment: { ECHO_ENV: 'from-the-template' },
    });
    platform.api.addRoutes(echo.fn, [echoRoute]);
    const bytes = new PlatformFunction(platform, 'Bytes', {
      ...platform.functionDefaults('bytes'),
      entry: 'test/platform/fixtures/bytes-handler.ts',
    });
    platform.api.addRoutes(bytes.fn, bytesRoutes);
    // Binary media types as CloudFormation spells them ('~1' for '/'): the gateway must
    // read them from the template, not keep a list of its own.
    (platform.api.api.node.defaultChild as CfnRestApi).binaryMediaTypes = ['image~1png', 'font~1*'];
    const template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
    dataDir = mkdtempSync(join(tmpdir(), 'mlops-routes-'));
    runtime = await startLocalRuntime({
      port: 0,
      dataDir,
      template,
      inMemory: true,
      config: { stage: 'routes' },
    });
  });

  afterAll(async () => {
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is served locally, with path parameters and the environment the template sets', async () => {
    const res = await fetch(`${runtime.url}/test/echo/alice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hi', count: 3 }),
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ echoed: 'hihihi', name: 'alice', env: 'from-the-template' });
  });

  it('validates its input with the route schema (400 naming the field)', async () => {
    const res = await fetch(`${runtime.url}/test/echo/alice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'x'.repeat(50) }),
    });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(body.message).toContain("'message'");
  });

  it('answers a body over API Gateway’s 10 MB limit with 413, and one over the route’s limit too', async () => {
    const huge = await fetch(`${runtime.url}/test/echo/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(10 * 1024 * 1024 + 1),
    });
    expect(huge.status).toBe(413);
    expect(await json(huge)).toMatchObject({ error_code: 'REQUEST_TOO_LARGE' });
    const overRoute = await fetch(`${runtime.url}/test/echo/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'x'.repeat(6 * 1024 * 1024) }),
    });
    expect(overRoute.status).toBe(413);
  });

  it('passes bodies of the template’s binary media types base64-encoded, others as text', async () => {
    const put = async (type: string, body: Uint8Array) =>
      json(
        await fetch(`${runtime.url}/test/bytes`, { method: 'PUT', headers: { 'content-type': type }, body }),
      );
    const png = Buffer.from([0, 255, 137, 80]);
    expect(await put('image/png', png)).toEqual({ isBase64Encoded: true, body: png.toString('base64') });
    expect(await put('font/woff2', png)).toEqual({ isBase64Encoded: true, body: png.toString('base64') });
    expect(await put('text/plain', Buffer.from('hello'))).toEqual({ isBase64Encoded: false, body: 'hello' });
  });

  it('decodes a base64 response when the first Accept type is binary, else passes the text on', async () => {
    const get = (accept: string) => fetch(`${runtime.url}/test/bytes`, { headers: { accept } });
    expect([...Buffer.from(await (await get('image/png, text/plain')).arrayBuffer())]).toEqual(BYTES);
    expect(await (await get('text/plain, image/png')).text()).toBe(Buffer.from(BYTES).toString('base64'));
  });

  it('answers a wrong content type with 415 and malformed JSON with 400', async () => {
    const wrongType = await fetch(`${runtime.url}/test/echo/a`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a,b',
    });
    expect(wrongType.status).toBe(415);
    const malformed = await fetch(`${runtime.url}/test/echo/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message": "hi"',
    });
    expect(malformed.status).toBe(400);
    expect((await json(malformed)).error_code).toBe('BAD_REQUEST');
  });
});

describe('binary media types', () => {
  it('are read per RestApi from the template, with CloudFormation’s ~1 for /', () => {
    const plan = readTemplate({
      Resources: {
        Fn: { Type: 'AWS::Lambda::Function', Metadata: { 'mlops:entry': 'x.ts' } },
        Api: { Type: 'AWS::ApiGateway::RestApi', Properties: { BinaryMediaTypes: ['*~1*'] } },
        Get: {
          Type: 'AWS::ApiGateway::Method',
          Properties: {
            HttpMethod: 'GET',
            RestApiId: { Ref: 'Api' },
            ResourceId: { 'Fn::GetAtt': ['Api', 'RootResourceId'] },
            Integration: { Type: 'AWS_PROXY', Uri: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Fn', 'Arn'] }]] } },
          },
        },
      },
    });
    expect(plan.routes).toEqual([{ method: 'GET', path: '/', functionId: 'Fn', binaryMediaTypes: ['*/*'] }]);
  });

  it('match as API Gateway matches them: wildcards, case, parameters ignored', () => {
    expect(matchesMediaType(['*/*'], 'text/plain; charset=utf-8')).toBe(true);
    expect(matchesMediaType(['image/*'], 'IMAGE/PNG')).toBe(true);
    expect(matchesMediaType(['image/*'], 'text/plain')).toBe(false);
    expect(matchesMediaType(['application/octet-stream'], 'application/octet-streamx')).toBe(false);
    expect(matchesMediaType(['*/*'], undefined)).toBe(false);
  });

  it('make a request without a content type binary under */* (API Gateway reads it as application/json)', () => {
    const event = toProxyEvent({
      method: 'PUT',
      path: '/x',
      query: '',
      rawHeaders: [],
      body: new Uint8Array([255, 0]),
      resource: '/x',
      pathParameters: null,
      stage: 'local',
      requestId: 'r',
      sourceIp: '127.0.0.1',
      httpVersion: '1.1',
      binaryMediaTypes: ['*/*'],
    });
    expect(event).toMatchObject({ isBase64Encoded: true, body: '/wA=' });
  });
});

describe('mlops up', () => {
  it('keeps data written before a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mlops-persist-'));
    try {
      const first = await startLocalRuntime({ port: 0, dataDir });
      const client = (endpoint: string) =>
        new DynamoDBClient({
          endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
        });
      const c1 = client(first.dynamodbEndpoint);
      await c1.send(
        new CreateTableCommand({
          TableName: 'persist',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await waitUntilTableExists({ client: c1, maxWaitTime: 10, minDelay: 0.05 }, { TableName: 'persist' });
      await c1.send(new PutItemCommand({ TableName: 'persist', Item: { pk: { S: 'k' }, v: { N: '42' } } }));
      c1.destroy();
      await first.stop();

      const second = await startLocalRuntime({ port: 0, dataDir });
      const c2 = client(second.dynamodbEndpoint);
      const got = await c2.send(new GetItemCommand({ TableName: 'persist', Key: { pk: { S: 'k' } } }));
      c2.destroy();
      expect((await fetch(`${second.url}/health`)).status).toBe(200);
      await second.stop();
      expect(got.Item?.v?.N).toBe('42');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
