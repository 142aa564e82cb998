import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { loadRegistryRepo, writeRegistry } from '../../lambdas/features/definitions/feature-registry-store';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { ingestBatch } from '../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { DynamoOnlineTable, ensureOnlineTable } from '../../lambdas/features/online/dynamo-online-table';
import { materializeIncremental } from '../../lambdas/features/online/materialize';
import { getOnlineFeatures } from '../../lambdas/features/online/retrieval';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { localDynamoClients, startDynamoDb } from '../../local/engines/dynamodb';
import { startChild } from './faults-support';

/** What the materialization fault runs found. */
export interface MaterializeFaultCounts {
  readonly cycles: number;
  /** Online values (and event times) read back: keys × features × views. */
  readonly values: number;
  /** Values that differ from a clean run's (an older value over a newer one, a key missing). */
  readonly mismatched: number;
  /** Online items beyond a clean run's (a key stored twice, a stray item). */
  readonly duplicated: number;
  /** Reruns that did not complete, and views whose watermark differs from a clean run's. */
  readonly wedged: number;
}

const USERS = 600;
const DAY = 86_400_000_000;
const T0 = Date.parse('2024-05-01T00:00:00Z') * 1000;
/** Three scheduled window ends; each view's rows change value in every window. */
const ENDS = [T0 + 2 * DAY, T0 + 4 * DAY, T0 + 6 * DAY];

const definitions = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: ['clicks', 'orders'].map((name) => ({
    name,
    kind: 'file',
    format: 'csv',
    path: 'unused.csv',
    columns: [
      { name: 'user_id', type: 'int64' },
      { name: 'ts', type: 'timestamp' },
      { name: 'score', type: 'float64' },
      { name: 'n', type: 'int64' },
    ],
  })),
  featureViews: ['clicks', 'orders'].map((name) => ({
    name,
    entities: ['user'],
    source: name,
    timestampField: 'ts',
    features: [
      { name: 'score', type: 'float64' },
      { name: 'n', type: 'int64' },
    ],
  })),
};

/**
 * A data dir with the feature registry applied and six days of rows ingested: every user
 * has a row in most days, with a value that grows with time, so an older value written
 * over a newer one reads differently from a clean run.
 */
async function prepare(dataDir: string): Promise<void> {
  const store = new FsObjectStore(join(dataDir, 's3'));
  const repo = buildRepo({ file: definitions });
  await writeRegistry(store, 'features', repo, 0);
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    for (const [v, source] of ['clicks', 'orders'].entries()) {
      const lines = ['user_id,ts,score,n'];
      for (let day = 0; day < 6; day++) {
        for (let u = 1; u <= USERS; u++) {
          if ((u + day + v) % 5 === 0) continue;
          const ts = new Date((T0 + day * DAY) / 1000 + ((u * 7919) % 86_000) * 1000).toISOString();
          lines.push(`${u},${ts},${day * 1000 + u + v / 2},${day}`);
        }
      }
      const file = join(dataDir, `${source}.csv`);
      writeFileSync(file, lines.join('\n'));
      await ingestBatch({ repo, engine, store, bucket: 'features' }, { source, file });
    }
  } finally {
    engine.close();
  }
}

/** Every online value of every user, the views' watermarks, and the online table's item count. */
async function readOnline(
  dataDir: string,
): Promise<{ values: unknown[]; watermarks: unknown[]; items: number }> {
  const store = new FsObjectStore(join(dataDir, 's3'));
  const repo = await loadRegistryRepo(store, 'features');
  if (!repo) throw new Error('no registry');
  const ddb = await startDynamoDb({ path: join(dataDir, 'dynamodb') });
  const { client, doc } = localDynamoClients(ddb.endpoint);
  try {
    const table = new DynamoOnlineTable(doc, 'features-online');
    const values: unknown[] = [];
    for (let from = 1; from <= USERS; from += 500) {
      const ids = Array.from({ length: Math.min(500, USERS - from + 1) }, (_, i) => from + i);
      const res = await getOnlineFeatures(
        { repo, table },
        {
          features: ['clicks:score', 'clicks:n', 'orders:score', 'orders:n'],
          entities: { user_id: ids },
          full_feature_names: true,
        },
      );
      values.push(
        ...res.results.flatMap((c) => c.values.map((v, i) => [c.statuses[i], c.event_timestamps[i], v])),
      );
    }
    const watermarks = await Promise.all(
      ['clicks', 'orders'].map(async (v) => (await table.getState(v)).watermark),
    );
    let items = 0;
    let key: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({ TableName: 'features-online', Select: 'COUNT', ExclusiveStartKey: key }),
      );
      items += page.Count ?? 0;
      key = page.LastEvaluatedKey;
    } while (key);
    return { values, watermarks, items };
  } finally {
    client.destroy();
    await ddb.close();
  }
}

/**
 * The work a fault child does (and the clean run, in-process): what `mlops features
 * materialize-incremental` opens (lambdas/features/online/cli.ts), run to each window end in
 * turn as a scheduler would, skipping an end every view has reached. Small chunks, so a kill
 * lands between chunks as well as inside one. `onStarted` runs once the engines are open.
 */
export async function materializeSchedule(
  dataDir: string,
  ends: readonly number[],
  onStarted: () => void = () => undefined,
): Promise<void> {
  const store = new FsObjectStore(join(dataDir, 's3'));
  const repo = await loadRegistryRepo(store, 'features');
  if (!repo) throw new Error('no feature registry in the data dir');
  const ddb = await startDynamoDb({ path: join(dataDir, 'dynamodb') });
  const { client, doc } = localDynamoClients(ddb.endpoint);
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    await ensureOnlineTable(client, 'features-online');
    const table = new DynamoOnlineTable(doc, 'features-online');
    const deps = { repo, engine, store, bucket: 'features', table, chunkKeys: 150 };
    onStarted();
    for (const end of ends) {
      const states = await Promise.all([...repo.views.keys()].map((v) => table.getState(v)));
      if (states.every((s) => s.watermark !== undefined && s.watermark >= end)) continue;
      await materializeIncremental(deps, { end });
    }
  } finally {
    engine.close();
    client.destroy();
    await ddb.close();
  }
}

/** Runs the materialize child to the end. */
async function rerun(dataDir: string): Promise<boolean> {
  const child = startChild(['materialize', dataDir, ...ENDS.map(String)]);
  return (await child.exited) === 0;
}

/**
 * kill -9 during materialization: a clean run of three scheduled incremental windows over two
 * views gives the expected online store; then, per cycle, a copy of the same prepared data
 * dir is materialized by a child killed at a random moment of that work, and a rerun on the
 * same dir resumes it. The online values, watermarks and item count must equal the clean run's.
 *
 * @example
 * const counts = await runMaterializeFaults({ cycles: 1, random: Math.random });
 */
export async function runMaterializeFaults(options: {
  cycles: number;
  random: () => number;
  onProgress?: (m: string) => void;
}): Promise<MaterializeFaultCounts> {
  const progress = options.onProgress ?? (() => undefined);
  const root = mkdtempSync(join(tmpdir(), 'mlops-faults-mat-'));
  const counts = { cycles: options.cycles, values: 0, mismatched: 0, duplicated: 0, wedged: 0 };
  try {
    const prepared = join(root, 'prepared');
    await prepare(prepared);
    const cleanDir = join(root, 'clean');
    cpSync(prepared, cleanDir, { recursive: true });
    let t0 = 0;
    await materializeSchedule(cleanDir, ENDS, () => {
      t0 = performance.now();
    });
    const clean = { ms: performance.now() - t0 };
    const expected = await readOnline(cleanDir);
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const dir = join(root, `fault-${cycle}`);
      cpSync(prepared, dir, { recursive: true });
      const child = startChild(['materialize', dir, ...ENDS.map(String)]);
      await child.waitFor(/^STARTED$/);
      const delay = Math.floor(options.random() * clean.ms);
      await new Promise((r) => setTimeout(r, delay));
      await child.kill();
      progress(
        `materialize cycle ${cycle + 1}/${options.cycles}: killed after ${delay} of ${Math.round(clean.ms)} ms`,
      );
      if (!(await rerun(dir))) counts.wedged++;
      const got = await readOnline(dir);
      counts.values += got.values.length;
      for (let i = 0; i < expected.values.length; i++)
        if (JSON.stringify(got.values[i]) !== JSON.stringify(expected.values[i])) counts.mismatched++;
      if (JSON.stringify(got.watermarks) !== JSON.stringify(expected.watermarks)) counts.wedged++;
      counts.duplicated += Math.max(0, got.items - expected.items);
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return counts;
}
