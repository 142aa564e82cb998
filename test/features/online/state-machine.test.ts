import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRegistry } from '../../../lambdas/features/definitions/feature-registry-store';
import { buildRepo, type FeatureRepo } from '../../../lambdas/features/definitions/repo';
import { ingestBatch } from '../../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../../lambdas/features/offline/duckdb-engine';
import { DynamoOnlineTable } from '../../../lambdas/features/online/dynamo-online-table';
import { materializeChunk, planViewRun } from '../../../lambdas/features/online/materialize';
import { getOnlineFeatures } from '../../../lambdas/features/online/retrieval';
import { FsObjectStore } from '../../../lambdas/platform/fs-object-store';
import { type LocalRuntime, startLocalRuntime } from '../../../local/runtime';
import { us } from './support';

// The synthesized materialization state machine (Plan → Map of Chunk → Finish), run by the
// local Step Functions against its own platform, so the registry and table are this file's own.
const BUCKET = 'features';
const definitions = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: [
    {
      name: 'scores',
      kind: 'file',
      format: 'csv',
      path: 'unused.csv',
      columns: [
        { name: 'user_id', type: 'int64' },
        { name: 'ts', type: 'timestamp' },
        { name: 'score', type: 'float64' },
      ],
    },
  ],
  featureViews: [
    {
      name: 'scores',
      entities: ['user'],
      source: 'scores',
      timestampField: 'ts',
      features: [{ name: 'score', type: 'float64' }],
    },
  ],
};
const USERS = Array.from({ length: 90 }, (_, i) => i + 1);

let rt: LocalRuntime;
let dir: string;
let engine: DuckDbEngine;
let client: DynamoDBClient;
let repo: FeatureRepo;
let store: FsObjectStore;
let table: DynamoOnlineTable;
let batches = 0;

async function ingest(rows: string[]): Promise<void> {
  const file = join(dir, `scores-${batches++}.csv`);
  await writeFile(file, ['user_id,ts,score', ...rows].join('\n'));
  const r = await ingestBatch({ repo, engine, store, bucket: BUCKET }, { source: 'scores', file });
  expect(r.status).toBe('ingested');
}
const scores = async (users: number[]) =>
  (await getOnlineFeatures({ repo, table }, { features: ['scores:score'], entities: { user_id: users } }))
    .results[1]?.values;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'online-sfn-'));
  rt = await startLocalRuntime({ port: 0, inMemory: true, dataDir: join(dir, 'data') });
  store = new FsObjectStore(rt.env.MLOPS_LOCAL_S3_ROOT as string);
  engine = await DuckDbEngine.create({ threads: 1 });
  client = new DynamoDBClient({ endpoint: rt.dynamodbEndpoint, region: 'us-east-1' });
  table = new DynamoOnlineTable(DynamoDBDocumentClient.from(client), 'features-online');
  repo = buildRepo({ file: definitions });
});
afterAll(async () => {
  engine.close();
  client.destroy();
  await rt?.stop();
  await rm(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation is read structurally
type Resource = { Type: string; Properties?: Record<string, any> };

/** What the materialization-failed alarm reads: failed executions of the state machine it watches. */
function failedExecutionsAlarm(): { machine: string; threshold: number; failed: () => number } {
  const resources = Object.values(rt.plan.template.Resources) as Resource[];
  const alarm = resources.find(
    (r) =>
      r.Type === 'AWS::CloudWatch::Alarm' &&
      r.Properties?.MetricName === 'ExecutionsFailed' &&
      JSON.stringify(r.Properties?.Dimensions).includes('Materialization'),
  );
  if (!alarm?.Properties) throw new Error('no alarm on failed materializations in the template');
  const machine = alarm.Properties.Dimensions[0].Value.Ref as string;
  const records = join(rt.dataDir, 'executions', machine);
  return {
    machine,
    threshold: alarm.Properties.Threshold,
    failed: () =>
      (existsSync(records) ? readdirSync(records) : []).filter(
        (f) => JSON.parse(readFileSync(join(records, f), 'utf8')).status === 'FAILED',
      ).length,
  };
}

describe('the first scheduled materialization, before any registry is applied', () => {
  it('succeeds doing nothing, says why, and leaves the failed-materialization alarm at 0', async () => {
    const alarm = failedExecutionsAlarm();
    const exec = await rt.stepFunctions.run(alarm.machine, {
      name: 'first-schedule',
      input: { action: 'plan' },
    });
    expect(exec.error).toBeUndefined();
    expect(exec.status).toBe('SUCCEEDED');
    expect(exec.output).toEqual({ finished: [], skipped: expect.stringMatching(/no feature registry yet/) });
    expect(alarm.failed()).toBe(0);
    expect(alarm.failed()).toBeLessThan(alarm.threshold);
  });
});

describe('the materialization state machine, run locally', () => {
  beforeAll(async () => {
    await writeRegistry(store, BUCKET, repo, 0);
  });

  it('completes a run an earlier attempt left half done, running only the missing chunks', async () => {
    await ingest(USERS.map((u) => `${u},2024-05-01T10:00:00Z,${u * 10}`));
    const start = us('2024-05-01T00:00:00Z');
    const end = us('2024-05-02T00:00:00Z');
    // An earlier attempt planned 3 chunks and died after writing chunk 1.
    const deps = { repo, engine, store, bucket: BUCKET, table, chunkKeys: 30 };
    const crashed = await planViewRun(deps, 'scores', start, end);
    expect(crashed.chunks).toBe(3);
    const firstChunk = await materializeChunk(deps, crashed, 1);
    expect(firstChunk.written).toBeGreaterThan(0);

    const chunkCalls: number[] = [];
    const exec = await rt.stepFunctions.run('Materialization', {
      name: 'resume',
      input: { action: 'plan', views: ['scores'], start, end, chunkKeys: 30 },
      onEvent: (e) => {
        if (e.type === 'StateEntered' && e.state?.name === 'Chunk') chunkCalls.push(e.timestamp);
      },
    });
    expect(exec.error).toBeUndefined();
    expect(exec.status).toBe('SUCCEEDED');
    expect(exec.output).toEqual({ finished: ['scores'] });
    expect(chunkCalls.length).toBe(2);
    expect(await scores(USERS)).toEqual(USERS.map((u) => u * 10));
    // The watermark moved, the lease is gone, and the reach holds the latest event time written.
    expect(await table.getState('scores')).toEqual({ watermark: end, reach: us('2024-05-01T10:00:00Z') });
  });

  it('materializes incrementally from the watermark when the schedule starts it', async () => {
    await ingest(['7,2024-05-03T10:00:00Z,777', '8,2024-04-30T10:00:00Z,-1']);
    const end = us('2024-05-04T00:00:00Z');
    const exec = await rt.stepFunctions.run('Materialization', {
      name: 'scheduled',
      input: { action: 'plan', end },
    });
    expect(exec.status).toBe('SUCCEEDED');
    // User 7's new row is served; user 8's row predates the watermark, so its newer value stays.
    expect(await scores([7, 8, 9])).toEqual([777, 80, 90]);
    expect((await table.getState('scores')).watermark).toBe(end);
  });

  it('fails the execution, moving no watermark, when a view does not exist', async () => {
    const exec = await rt.stepFunctions.run('Materialization', {
      name: 'unknown-view',
      input: { action: 'plan', views: ['nope'] },
    });
    expect(exec.status).toBe('FAILED');
    // As AWS reports a task's error: its type and its message.
    expect(exec.error).toMatchObject({
      Error: 'NotFoundError',
      Cause: expect.stringMatching(/feature view 'nope' not found/),
    });
    expect((await table.getState('scores')).watermark).toBe(us('2024-05-04T00:00:00Z'));
  });
});
