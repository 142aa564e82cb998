import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NotFoundError } from '../../lambdas/platform/errors';
import { MAX_JSON_DEPTH } from '../../lambdas/platform/http/request';
import { bind, defineRoute, HttpResult, q } from '../../lambdas/platform/http/route';
import { httpApi } from '../../lambdas/platform/http/router';
import { validate } from '../../lambdas/platform/http/validation';

const createItem = defineRoute({
  method: 'POST',
  path: '/items/create',
  summary: 'create',
  request: z.object({ name: z.string().min(1), size: z.number().int().positive().optional() }),
  maxBodyBytes: 1024,
});
const listItems = defineRoute({
  method: 'GET',
  path: '/items/list',
  summary: 'list',
  request: z.object({ ids: q.array(z.string()).optional(), max_results: q.int().optional() }),
});
const getItem = defineRoute({
  method: 'GET',
  path: '/items/{id}',
  summary: 'get',
  request: z.object({ id: z.string() }),
});
const upload = defineRoute({
  method: 'PUT',
  path: '/blobs/{proxy+}',
  summary: 'upload',
  request: z.object({ proxy: z.string() }),
  body: 'raw',
});

const handler = httpApi([
  bind(createItem, (input) => ({ created: input.name, size: input.size ?? null })),
  bind(listItems, (input) => ({ ids: input.ids ?? [], max: input.max_results ?? null })),
  bind(getItem, (input) => {
    if (input.id === 'missing') throw new NotFoundError(`Item '${input.id}' not found`);
    if (input.id === 'boom') throw new Error('secret internals');
    return new HttpResult(200, new Uint8Array([1, 2, 3]));
  }),
  bind(upload, (input, ctx) => ({ path: input.proxy, bytes: ctx.rawBody?.byteLength })),
]);

function event(partial: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent {
  return {
    resource: '/items/create',
    path: '/items/create',
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1' } as APIGatewayProxyEvent['requestContext'],
    ...partial,
  };
}

const ctx = {} as Context;
const call = async (e: Partial<APIGatewayProxyEvent>) => {
  const res = await handler(event(e), ctx);
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, res };
};

describe('the HTTP wrapper', () => {
  it('validates and answers JSON with the request id', async () => {
    const r = await call({ body: JSON.stringify({ name: 'a', size: 3, unknown: 'ignored' }) });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ created: 'a', size: 3 });
    expect(r.res.headers?.['x-request-id']).toBe('req-1');
  });

  it('answers malformed JSON with 400 BAD_REQUEST', async () => {
    const r = await call({ body: '{"name": ' });
    expect(r.status).toBe(400);
    expect(r.body.error_code).toBe('BAD_REQUEST');
    expect(r.body.message).toMatch(/Malformed JSON/);
  });

  it('answers a non-JSON content type with 415', async () => {
    const r = await call({ headers: { 'content-type': 'text/plain' }, body: '{"name":"a"}' });
    expect(r.status).toBe(415);
    expect(r.body.error_code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts a JSON content type with parameters and any header case', async () => {
    const r = await call({
      headers: { 'CONTENT-TYPE': 'application/json; charset=utf-8' },
      body: '{"name":"b"}',
    });
    expect(r.status).toBe(200);
  });

  it('answers an oversized body with 413 before parsing it', async () => {
    const r = await call({ body: JSON.stringify({ name: 'x'.repeat(2000) }) });
    expect(r.status).toBe(413);
    expect(r.body.error_code).toBe('REQUEST_TOO_LARGE');
  });

  it('names a missing parameter and an invalid one', async () => {
    const missing = await call({ body: '{}' });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: "Missing value for required parameter 'name'.",
    });
    const invalid = await call({ body: '{"name":"a","size":-1}' });
    expect(invalid.body.message).toContain("parameter 'size'");
    expect(invalid.body.message).toContain('-1');
  });

  it('refuses a body nested deeper than the limit with 400, naming the limit', async () => {
    const deep = `{"name":${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}}`;
    const r = await call({ body: deep });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain(`${MAX_JSON_DEPTH} levels`);
    const shallow = await call({ body: `{"name":${'['.repeat(10)}${']'.repeat(10)}}` });
    expect(shallow.body.message).toContain("parameter 'name'");
  });

  it('describes an invalid value of any depth without overflowing the stack', () => {
    let value: unknown = 1;
    for (let i = 0; i < 300_000; i++) value = [value];
    expect(() => validate(z.object({ name: z.string() }), { name: value })).toThrow(
      /Invalid value \[\[\[.*for parameter 'name'/,
    );
  });

  it('rejects a JSON body that is not an object', async () => {
    const r = await call({ body: '[1,2]' });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/must be an object/);
  });

  it('reads GET parameters from the query string, repeated keys as arrays', async () => {
    const r = await call({
      resource: '/items/list',
      httpMethod: 'GET',
      multiValueQueryStringParameters: { ids: ['1', '2'], max_results: ['10'] },
    });
    expect(r.body).toEqual({ ids: ['1', '2'], max: 10 });
    const single = await call({
      resource: '/items/list',
      httpMethod: 'GET',
      multiValueQueryStringParameters: { ids: ['7'] },
    });
    expect(single.body.ids).toEqual(['7']);
  });

  it('maps domain errors to their status and hides internal ones', async () => {
    const nf = await call({ resource: '/items/{id}', httpMethod: 'GET', pathParameters: { id: 'missing' } });
    expect(nf.status).toBe(404);
    expect(nf.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const boom = await call({ resource: '/items/{id}', httpMethod: 'GET', pathParameters: { id: 'boom' } });
    expect(boom.status).toBe(500);
    expect(boom.body.error_code).toBe('INTERNAL_ERROR');
    expect(boom.res.body).not.toContain('secret internals');
  });

  it('answers binary results base64-encoded and passes raw bodies through', async () => {
    const bin = await handler(
      event({ resource: '/items/{id}', httpMethod: 'GET', pathParameters: { id: 'x' } }),
      ctx,
    );
    expect(bin.isBase64Encoded).toBe(true);
    expect([...Buffer.from(bin.body, 'base64')]).toEqual([1, 2, 3]);
    const up = await call({
      resource: '/blobs/{proxy+}',
      httpMethod: 'PUT',
      pathParameters: { proxy: 'a/b.bin' },
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([9, 9, 9, 9]).toString('base64'),
      isBase64Encoded: true,
    });
    expect(up.body).toEqual({ path: 'a/b.bin', bytes: 4 });
  });

  it('parses a JSON body that arrives base64-encoded (API Gateway encodes every body)', async () => {
    const r = await call({ body: Buffer.from('{"name":"é"}').toString('base64'), isBase64Encoded: true });
    expect(r).toMatchObject({ status: 200, body: { created: 'é' } });
  });

  it('reads query keys and headers named like object properties as plain data', async () => {
    // As Lambda receives the event: JSON, where "__proto__" is an own key.
    const e = JSON.parse(
      '{"headers":{"__proto__":"x","constructor":"y","Content-Type":"application/json"},' +
        '"multiValueQueryStringParameters":{"__proto__":["a","b"],"toString":["1"],"ids":["7"]}}',
    );
    const list = await call({ ...e, resource: '/items/list', httpMethod: 'GET' });
    expect(list).toMatchObject({ status: 200, body: { ids: ['7'], max: null } });
    const create = await call({ ...e, body: '{"name":"n"}' });
    expect(create).toMatchObject({ status: 200, body: { created: 'n' } });
  });

  it('answers an unknown route 404 and a wrong method 405', async () => {
    expect((await call({ resource: '/nope' })).body.error_code).toBe('ENDPOINT_NOT_FOUND');
    const wrong = await call({ resource: '/items/create', httpMethod: 'DELETE' });
    expect(wrong.status).toBe(405);
  });

  it('never answers 5xx to any request a client can send (property)', async () => {
    const resources = ['/items/create', '/items/list', '/items/{id}', '/blobs/{proxy+}', '/unknown', ''];
    const jsonish = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ name: fc.anything(), size: fc.anything() }).map((v) => {
        try {
          return JSON.stringify(v);
        } catch {
          return '{}';
        }
      }),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
    );
    const arbEvent = fc.record({
      resource: fc.constantFrom(...resources),
      httpMethod: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'BREW'),
      headers: fc.oneof(
        fc.constant(null),
        fc.dictionary(fc.constantFrom('content-type', 'Content-Type', 'x-request-id', 'x'), fc.string()),
      ),
      body: fc.option(jsonish, { nil: null }),
      isBase64Encoded: fc.boolean(),
      multiValueQueryStringParameters: fc.option(
        fc.dictionary(
          fc.constantFrom('ids', 'max_results', 'other'),
          fc.array(fc.string(), { maxLength: 3 }),
        ),
        { nil: null },
      ),
      pathParameters: fc.option(fc.dictionary(fc.constantFrom('id', 'proxy'), fc.string()), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(arbEvent, async (e) => {
        const pathParameters =
          e.pathParameters?.id === 'boom' ? { ...e.pathParameters, id: 'b00m' } : e.pathParameters;
        const res = await handler(event({ ...e, headers: e.headers as never, pathParameters }), ctx);
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode >= 400) {
          const body = JSON.parse(res.body);
          expect(typeof body.error_code).toBe('string');
          expect(typeof body.message).toBe('string');
        }
      }),
      { numRuns: 400 },
    );
  });
});
