import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerFeatureCommands } from '../../../lambdas/features/cli';
import { writeRegistry } from '../../../lambdas/features/definitions/feature-registry-store';
import { buildRepo, type FeatureRepo } from '../../../lambdas/features/definitions/repo';
import { ingestBatch } from '../../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../../lambdas/features/offline/duckdb-engine';
import { registerOnlineFeatureCommands } from '../../../lambdas/features/online/cli';
import { DynamoOnlineTable } from '../../../lambdas/features/online/dynamo-online-table';
import { getOnlineFeatures } from '../../../lambdas/features/online/retrieval';
import { FsObjectStore } from '../../../lambdas/platform/fs-object-store';
import { startDynamoDb } from '../../../local/engines/dynamodb';

const definitions = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: ['a', 'b'].map((name) => ({
    name,
    kind: 'file',
    format: 'csv',
    path: 'unused.csv',
    columns: [
      { name: 'user_id', type: 'int64' },
      { name: 'ts', type: 'timestamp' },
      { name: 'score', type: 'float64' },
    ],
  })),
  featureViews: ['a', 'b'].map((name) => ({
    name,
    entities: ['user'],
    source: name,
    timestampField: 'ts',
    features: [{ name: 'score', type: 'float64' }],
  })),
};

let dir: string;
let repo: FeatureRepo;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'online-cli-'));
  const store = new FsObjectStore(join(dir, 's3'));
  repo = buildRepo({ file: definitions });
  await writeRegistry(store, 'features', repo, 0);
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    for (const [source, rows] of [
      ['a', ['1,2024-05-01T10:00:00Z,1.5', '2,2024-05-01T11:00:00Z,2.5', '2,2024-05-03T11:00:00Z,9.5']],
      ['b', ['1,2024-05-01T12:00:00Z,7']],
    ] as const) {
      const file = join(dir, `${source}.csv`);
      await writeFile(file, ['user_id,ts,score', ...rows].join('\n'));
      await ingestBatch({ repo, engine, store, bucket: 'features' }, { source, file });
    }
  } finally {
    engine.close();
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `mlops features ...` in-process; returns stdout, stderr and the exit code. */
async function mlops(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((m: unknown) => void out.push(String(m)));
  const error = vi.spyOn(console, 'error').mockImplementation((m: unknown) => void err.push(String(m)));
  process.exitCode = 0;
  try {
    const program = new Command('mlops').exitOverride();
    registerOnlineFeatureCommands(registerFeatureCommands(program));
    await program.parseAsync(['features', ...args, '--data-dir', dir], { from: 'user' });
    return { out: out.join('\n'), err: err.join('\n'), code: Number(process.exitCode ?? 0) };
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.exitCode = 0;
  }
}

describe('mlops features materialize', () => {
  it('materializes a window with progress lines, and a rerun writes nothing', async () => {
    const args = ['materialize', '--start', '2024-05-01T00:00:00Z', '--end', '2024-05-02T00:00:00Z'];
    const first = await mlops(...args, '--views', 'a');
    expect(first.code).toBe(0);
    expect(first.out).toBe(
      'a: 2 key(s) in 2024-05-01T00:00:00.000Z .. 2024-05-02T00:00:00.000Z, 2 written, 0 unchanged, 1 chunk(s)',
    );
    expect(first.err).toMatch(/\.\.\. a: 2 entity key\(s\).*\n\.\.\. a: chunk 1\/1 done \(2 written/);
    const again = await mlops(...args, '--views', 'a');
    expect(again.out).toMatch(/a: 2 key\(s\).*0 written, 2 unchanged/);
  });

  it('materializes incrementally from each view’s watermark; the data persists in the data dir', async () => {
    const r = await mlops('materialize-incremental', '--end', '2024-05-04T00:00:00Z');
    expect(r.code).toBe(0);
    // View a continues from its watermark (one newer row); view b has none, so starts at the epoch.
    expect(r.out.split('\n')).toEqual([
      'a: 1 key(s) in 2024-05-02T00:00:00.000Z .. 2024-05-04T00:00:00.000Z, 1 written, 0 unchanged, 1 chunk(s)',
      'b: 1 key(s) in 1970-01-01T00:00:00.000Z .. 2024-05-04T00:00:00.000Z, 1 written, 0 unchanged, 1 chunk(s)',
    ]);
    const ddb = await startDynamoDb({ path: join(dir, 'dynamodb') });
    const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1' });
    try {
      const table = new DynamoOnlineTable(DynamoDBDocumentClient.from(client), 'features-online');
      const res = await getOnlineFeatures(
        { repo, table },
        { features: ['a:score', 'b:score'], entities: { user_id: [1, 2] }, full_feature_names: true },
      );
      expect(res.results.slice(1).map((c) => c.values)).toEqual([
        [1.5, 9.5],
        [7, null],
      ]);
    } finally {
      client.destroy();
      await ddb.close();
    }
  });

  it.each([
    [
      ['materialize', '--start', '2024-05-01', '--end', '2024-05-02T00:00:00Z'],
      /--start '2024-05-01' is not an ISO 8601 time with a zone/,
    ],
    [
      ['materialize', '--start', '2024-05-02T00:00:00Z', '--end', '2024-05-01T00:00:00Z'],
      /--end .* is before --start/,
    ],
    [
      ['materialize-incremental', '--end', '2024-05-04T00:00:00Z', '--views', 'nope'],
      /feature view 'nope' not found; known: a, b/,
    ],
  ])('refuses %j with a message and exit code 1', async (args, message) => {
    const r = await mlops(...args);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });
});
