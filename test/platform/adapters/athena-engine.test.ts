import {
  AthenaClient,
  GetQueryExecutionInput$,
  GetQueryResultsInput$,
  StartQueryExecutionInput$,
} from '@aws-sdk/client-athena';
import { describe, expect, it } from 'vitest';
import { AthenaEngine } from '../../../lambdas/features/athena/athena-engine';
import { clientConfig } from '../../../lambdas/platform/aws-clients';
import { BadRequestError, TemporarilyUnavailableError, toMlopsError } from '../../../lambdas/platform/errors';
import {
  type CannedResponse,
  modelViolations,
  type RecordedRequest,
  recordingTransport,
} from '../../support/sdk-transport';

const INPUT_SCHEMA: Record<string, unknown> = {
  StartQueryExecution: StartQueryExecutionInput$,
  GetQueryExecution: GetQueryExecutionInput$,
  GetQueryResults: GetQueryResultsInput$,
};

/** An Athena engine on the real SDK client; only the transport answers from `respond`. */
function engineOn(respond: (req: RecordedRequest, i: number) => CannedResponse) {
  const t = recordingTransport(respond);
  const client = new AthenaClient({
    ...clientConfig('athena', { AWS_REGION: 'eu-west-1' }),
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    requestHandler: t.handler,
  });
  const engine = new AthenaEngine({
    client,
    workGroup: 'features-prod',
    database: 'features_prod',
    pollMs: 1,
  });
  return { engine, requests: t.requests };
}

const column = (Name: string, Type: string) => ({ Name, Type, Label: Name });
const row = (...values: (string | null)[]) => ({
  Data: values.map((v) => (v === null ? {} : { VarCharValue: v })),
});

/** Athena's answers for one query: queued, running, succeeded, then two result pages. */
function athenaAnswers(req: RecordedRequest): CannedResponse {
  const body = JSON.parse(req.body) as Record<string, unknown>;
  switch (req.operation) {
    case 'StartQueryExecution':
      return { body: { QueryExecutionId: 'qe-1' } };
    case 'GetQueryExecution': {
      polls += 1;
      const State = polls === 1 ? 'QUEUED' : polls === 2 ? 'RUNNING' : 'SUCCEEDED';
      return { body: { QueryExecution: { QueryExecutionId: 'qe-1', Status: { State } } } };
    }
    case 'GetQueryResults': {
      const metadata = { ColumnInfo: [column('user_id', 'bigint'), column('amount', 'double')] };
      if (body.NextToken === undefined) {
        return {
          body: {
            ResultSet: {
              ResultSetMetadata: metadata,
              Rows: [row('user_id', 'amount'), row('1', '9.5'), row('2', null)],
            },
            NextToken: 'page-2',
          },
        };
      }
      // Later pages carry no header row: their first row is data.
      return { body: { ResultSet: { ResultSetMetadata: metadata, Rows: [row('3', '0.25')] } } };
    }
    default:
      throw new Error(`unexpected operation ${req.operation}`);
  }
}
let polls = 0;

describe('Athena engine on the SDK, with recorded AWS answers', () => {
  it('the model check rejects unknown members, missing required members and wrong types', () => {
    expect(
      modelViolations({ WorkGroup: 7, QueryExecutionContext: { Databse: 'x' } }, StartQueryExecutionInput$),
    ).toEqual([
      '$.QueryString: required by the model, missing',
      '$.WorkGroup: expected a string',
      '$.QueryExecutionContext.Databse: not a member of com.amazonaws.athena#QueryExecutionContext',
    ]);
  });

  it('starts the query in the workgroup and database, polls to SUCCEEDED, and reads every result page', async () => {
    polls = 0;
    const { engine, requests } = engineOn(athenaAnswers);
    const rows = await engine.query('SELECT user_id, amount FROM t');
    expect(rows).toEqual([
      { user_id: '1', amount: '9.5' },
      { user_id: '2', amount: null },
      { user_id: '3', amount: '0.25' },
    ]);
    expect(requests.map((r) => r.operation)).toEqual([
      'StartQueryExecution',
      'GetQueryExecution',
      'GetQueryExecution',
      'GetQueryExecution',
      'GetQueryResults',
      'GetQueryResults',
    ]);
    for (const r of requests) {
      expect(r.method).toBe('POST');
      expect(r.hostname).toBe('athena.eu-west-1.amazonaws.com');
      expect(r.headers['x-amz-target']).toBe(`AmazonAthena.${r.operation}`);
      expect(r.headers['content-type']).toBe('application/x-amz-json-1.1');
      expect(r.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/athena\/aws4_request/,
      );
      expect(modelViolations(JSON.parse(r.body), INPUT_SCHEMA[r.operation ?? ''])).toEqual([]);
    }
    const start = JSON.parse(requests[0]!.body);
    expect(start).toMatchObject({
      QueryString: 'SELECT user_id, amount FROM t',
      WorkGroup: 'features-prod',
      QueryExecutionContext: { Database: 'features_prod' },
    });
    // The SDK fills the idempotency token, so its own retry of a start never runs the query twice.
    expect(start.ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(requests[1]!.body)).toEqual({ QueryExecutionId: 'qe-1' });
    expect(JSON.parse(requests[5]!.body)).toEqual({ QueryExecutionId: 'qe-1', NextToken: 'page-2' });
  });

  it('unloads to the URI as Parquet or as CSV, quoting the location', async () => {
    for (const [format, clause] of [
      ['parquet', "format = 'PARQUET'"],
      ['csv', "format = 'TEXTFILE', field_delimiter = ','"],
    ] as const) {
      const { engine, requests } = engineOn((req) =>
        req.operation === 'StartQueryExecution'
          ? { body: { QueryExecutionId: 'qe-u' } }
          : { body: { QueryExecution: { QueryExecutionId: 'qe-u', Status: { State: 'SUCCEEDED' } } } },
      );
      await engine.write('SELECT 1 AS x', "s3://feat/training/o'brien/", format);
      expect(JSON.parse(requests[0]!.body).QueryString).toBe(
        `UNLOAD (SELECT 1 AS x) TO 's3://feat/training/o''brien/' WITH (${clause})`,
      );
      expect(requests.map((r) => r.operation)).toEqual(['StartQueryExecution', 'GetQueryExecution']);
    }
  });

  it("a FAILED query is an error that carries Athena's reason", async () => {
    const { engine } = engineOn((req) =>
      req.operation === 'StartQueryExecution'
        ? { body: { QueryExecutionId: 'qe-f' } }
        : {
            body: {
              QueryExecution: {
                QueryExecutionId: 'qe-f',
                Status: {
                  State: 'FAILED',
                  StateChangeReason: "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved",
                },
              },
            },
          },
    );
    const err = await engine.query('SELECT nope FROM t').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as Error).message).toContain("Column 'nope' cannot be resolved");
  });

  it("a FAILED query Athena marks retryable (its own capacity) is a 503, not the caller's 400", async () => {
    const { engine } = engineOn((req) =>
      req.operation === 'StartQueryExecution'
        ? { body: { QueryExecutionId: 'qe-r' } }
        : {
            body: {
              QueryExecution: {
                QueryExecutionId: 'qe-r',
                Status: {
                  State: 'FAILED',
                  StateChangeReason: 'Query exhausted resources at this scale factor',
                  AthenaError: { ErrorCategory: 1, ErrorType: 1001, Retryable: true },
                },
              },
            },
          },
    );
    const err = await engine.query('SELECT 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemporarilyUnavailableError);
    expect(toMlopsError(err).status).toBe(503);
    expect((err as Error).message).toMatch(/exhausted resources.*retry/);
  });

  it('a throttled start (TooManyRequestsException) is retried by the SDK and then succeeds', async () => {
    let starts = 0;
    const { engine, requests } = engineOn((req) => {
      if (req.operation === 'StartQueryExecution') {
        starts += 1;
        if (starts === 1)
          return { status: 400, body: { __type: 'TooManyRequestsException', Message: 'Rate exceeded' } };
        return { body: { QueryExecutionId: 'qe-t' } };
      }
      if (req.operation === 'GetQueryExecution') {
        return { body: { QueryExecution: { QueryExecutionId: 'qe-t', Status: { State: 'SUCCEEDED' } } } };
      }
      return {
        body: {
          ResultSet: { ResultSetMetadata: { ColumnInfo: [column('x', 'integer')] }, Rows: [row('x')] },
        },
      };
    });
    expect(await engine.query('SELECT 1 AS x')).toEqual([]);
    const startTokens = requests
      .filter((r) => r.operation === 'StartQueryExecution')
      .map((r) => JSON.parse(r.body).ClientRequestToken);
    // Both attempts carry the same token: Athena runs the query once.
    expect(startTokens).toHaveLength(2);
    expect(startTokens[0]).toBe(startTokens[1]);
  });
});
