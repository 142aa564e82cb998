import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchKey, readWindow } from '../../lambdas/monitoring/log/log-store';
import { duckdbPredictionLog } from '../../lambdas/monitoring/log/log-table';
import { parsePredictionLine } from '../../lambdas/monitoring/log/parse';
import type { LoggedPrediction } from '../../lambdas/monitoring/log/record';
import { shipLogEvents } from '../../lambdas/monitoring/log/shipper';
import { encodeAwsLogsBatch, type SubscriptionLogEvent } from '../../lambdas/platform/awslogs';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { PredictionLog } from '../../lambdas/serving/domain/prediction-log';

const BUCKET = 'monitoring';
let root: string;
let store: FsObjectStore;

/** Prediction log lines exactly as serving writes them, at given times. */
function servingLines(): { lines: string[]; at: number[] } {
  const lines: string[] = [];
  const at = [
    Date.parse('2026-03-01T23:59:58Z'),
    Date.parse('2026-03-01T23:59:59Z'),
    Date.parse('2026-03-02T00:00:01Z'),
    Date.parse('2026-03-02T00:00:02Z'),
  ];
  let i = 0;
  const log = new PredictionLog(
    (l) => lines.push(l),
    () => at[i] as number,
  );
  // 2 rows of churn v3 before midnight, then a 150-row request (two lines) of churn after it.
  log.success({
    requestId: 'r1',
    model: 'churn',
    version: '3',
    variant: '7',
    api: 'v1',
    latencyMs: 1.5,
    inputs: { spend: [35, null], plan: ['basic', 'pro'] },
    predictions: [0.12, 0.81],
  });
  i = 1;
  log.failure({
    requestId: 'r2',
    model: 'churn',
    version: '3',
    variant: '7',
    api: 'v1',
    latencyMs: 0.4,
    status: 400,
    errorCode: 'INVALID_PARAMETER_VALUE',
  });
  i = 2;
  const n = 150;
  log.success({
    requestId: 'r3',
    model: 'churn',
    version: '4',
    variant: '8',
    api: 'v2',
    latencyMs: 3,
    inputs: { spend: Array.from({ length: n }, (_, k) => k), plan: Array.from({ length: n }, () => 'team') },
    predictions: Float64Array.from({ length: n }, (_, k) => k / n),
  });
  i = 3;
  log.success({
    requestId: 'r4',
    model: 'other-model',
    version: '1',
    variant: '1',
    api: 'v1',
    latencyMs: 2,
    inputs: { x: [1] },
    predictions: [0.5],
  });
  return { lines, at };
}

function events(lines: string[], firstId = 100): SubscriptionLogEvent[] {
  return lines.map((message, k) => ({ id: String(firstId + k).padStart(56, '0'), timestamp: 0, message }));
}

async function filesUnder(prefix: string): Promise<string[]> {
  return (await store.list(BUCKET, prefix)).map((o) => o.key);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mlops-predlog-'));
  store = new FsObjectStore(root);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the prediction log in S3', () => {
  it('parses what serving writes, including lines in Lambda JSON log format, and refuses other lines', () => {
    const { lines } = servingLines();
    const first = parsePredictionLine(lines[0]!);
    expect(first.ok && first.record).toMatchObject({
      requestId: 'r1',
      model: 'churn',
      version: '3',
      rows: 2,
      inputs: { spend: [35, null], plan: ['basic', 'pro'] },
      predictions: [0.12, 0.81],
      extra: {},
    });
    const wrapped = parsePredictionLine(JSON.stringify({ level: 'INFO', message: JSON.parse(lines[0]!) }));
    expect(wrapped.ok).toBe(true);
    const failure = parsePredictionLine(lines[1]!);
    expect(failure.ok && failure.record).toMatchObject({
      status: 400,
      errorCode: 'INVALID_PARAMETER_VALUE',
      predictions: [],
    });
    expect(parsePredictionLine('{"level":"INFO","message":"hello"}').ok).toBe(false);
    expect(parsePredictionLine('{"mlops_prediction":1,"model":"m"}')).toMatchObject({
      ok: false,
      reason: /request_id/,
    });
    expect(parsePredictionLine('not json').ok).toBe(false);
  });

  it('the shipper stores a delivered batch by model and UTC date, one row per scored row, named by the batch', async () => {
    const { lines } = servingLines();
    const received: LoggedPrediction[][] = [];
    const sink = {
      name: 'recorder',
      write: async (r: readonly LoggedPrediction[]) => void received.push([...r]),
    };
    const result = await shipLogEvents({ store, bucket: BUCKET, sinks: [sink] }, [
      ...events(lines),
      { id: '9'.repeat(56), timestamp: 0, message: 'START RequestId: abc' },
    ]);
    expect(result).toMatchObject({ records: 5, skipped: 1 });
    const id = String(100).padStart(56, '0');
    expect([...result.keys].sort()).toEqual(
      [
        batchKey('churn', '2026-03-01', id),
        batchKey('churn', '2026-03-02', id),
        batchKey('other-model', '2026-03-02', id),
      ].sort(),
    );
    expect(batchKey('churn', '2026-03-01', id)).toBe(`predictions/model=churn/date=2026-03-01/${id}.json.gz`);
    const rows = gunzipSync(await store.get(BUCKET, batchKey('churn', '2026-03-02', id)).then((b) => b!))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // The 150-row request: its two lines become 150 rows numbered 0..149.
    expect(rows).toHaveLength(150);
    expect(rows.map((r) => r.row)).toEqual(Array.from({ length: 150 }, (_, k) => k));
    expect(rows[149]).toMatchObject({
      request_id: 'r3',
      version: '4',
      inputs: { spend: 149, plan: 'team' },
      prediction: 149 / 150,
    });
    // The sinks get the parsed records of the batch, once, after they are stored.
    expect(received).toHaveLength(1);
    expect(received[0]!.map((r) => r.requestId)).toEqual(['r1', 'r2', 'r3', 'r3', 'r4']);
  });

  it('a redelivered batch overwrites its files: each prediction is stored once', async () => {
    const { lines } = servingLines();
    const before = await filesUnder('predictions/');
    await shipLogEvents({ store, bucket: BUCKET, sinks: [] }, events(lines));
    await shipLogEvents({ store, bucket: BUCKET, sinks: [] }, events(lines));
    expect(await filesUnder('predictions/')).toEqual(before);
    const from = Date.parse('2026-03-01T00:00:00Z');
    const to = Date.parse('2026-03-03T00:00:00Z');
    const churn = [];
    for await (const r of readWindow(store, BUCKET, 'churn', from, to)) churn.push(r);
    expect(churn).toHaveLength(2 + 1 + 150);
    // The window is half-open and by the answer's time: midnight splits the two days.
    const late = [];
    for await (const r of readWindow(store, BUCKET, 'churn', Date.parse('2026-03-02T00:00:00Z'), to))
      late.push(r);
    expect(late).toHaveLength(150);
  });

  it('the handler decodes a CloudWatch Logs delivery (and ignores a control message)', async () => {
    process.env.MONITORING_BUCKET = BUCKET;
    process.env.MLOPS_LOCAL_S3_ROOT = root;
    const { handler } = await import('../../lambdas/monitoring/log/shipper-handler');
    const { lines } = servingLines();
    const batch = {
      owner: '000000000000',
      logGroup: '/aws/lambda/predict',
      logStream: 's',
      subscriptionFilters: ['f'],
      logEvents: events(lines, 500),
    };
    expect(await handler(encodeAwsLogsBatch({ ...batch, messageType: 'DATA_MESSAGE' }))).toEqual({
      records: 5,
      skipped: 0,
    });
    expect(await handler(encodeAwsLogsBatch({ ...batch, messageType: 'CONTROL_MESSAGE' }))).toEqual({
      records: 0,
      skipped: 0,
    });
    const id = String(500).padStart(56, '0');
    expect(await store.head(BUCKET, batchKey('other-model', '2026-03-02', id))).toBeDefined();
  });

  it('DuckDB reads the stored layout with the Glue table columns and the model and date partitions', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const reader = await conn.runAndReadAll(
        `SELECT model, "date", version, count(*) AS n, count(prediction) AS scored, sum(CAST(json_extract_string(inputs, '$.spend') AS DOUBLE)) AS spend
         FROM ${duckdbPredictionLog(join(root, BUCKET))}
         GROUP BY ALL ORDER BY model, "date", version`,
      );
      const rows = reader.getRowObjectsJson();
      // Two deliveries of batch 100 are one file; batch 500 (the handler test) is a second copy
      // (a failure is a row without a prediction).
      expect(rows).toEqual([
        { model: 'churn', date: '2026-03-01', version: '3', n: '6', scored: '4', spend: 70 },
        {
          model: 'churn',
          date: '2026-03-02',
          version: '4',
          n: '300',
          scored: '300',
          spend: 2 * ((149 * 150) / 2),
        },
        { model: 'other-model', date: '2026-03-02', version: '1', n: '2', scored: '2', spend: null },
      ]);
      expect(readdirSync(join(root, BUCKET, 'predictions', 'model=churn', 'date=2026-03-02'))).toHaveLength(
        2,
      );
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
