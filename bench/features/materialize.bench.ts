import { join } from 'node:path';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { ingestBatch } from '../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { registerOfflineRows } from '../../lambdas/features/offline/offline-relation';
import { datesBetween } from '../../lambdas/features/offline/partition-dates';
import { DynamoOnlineTable, ensureOnlineTable } from '../../lambdas/features/online/dynamo-online-table';
import { materialize } from '../../lambdas/features/online/materialize';
import { snapshotItems } from '../../lambdas/features/online/snapshot';
import { mapLimit } from '../../lambdas/platform/concurrency';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { localDynamoClients, startDynamoDb } from '../../local/engines/dynamodb';
import type { BenchMeasurement, Benchmark } from '../harness';

const BUCKET = 'features';
const CONCURRENCY = 16;
const FEATURES = 5;

/**
 * Materialization throughput (entity keys written per second into a fresh table) of ours —
 * the whole path: offline Parquet through DuckDB to the latest row per key, the run's state
 * (lease, reach, floor), BatchWriteItem of the items — against a bare BatchWriteItem loop
 * writing the same items (already computed, without the `rev` ours adds) with the same
 * concurrency and batch size, both into dynalite in this process. A first load is later than
 * the view's (empty) reach, so ours writes without reading versions; the same run with the
 * reach set ahead, which must read every version first, is reported as well (report only).
 * Rounds alternate; medians are reported.
 */
export default (async (ctx) => {
  const keys = ctx.quick ? 5_000 : 40_000;
  const rowsPerKey = 3;
  const rounds = ctx.quick ? 1 : 5;
  const cols = Array.from({ length: FEATURES }, (_, i) => `f${i}`);
  const repo = buildRepo({
    file: {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
      sources: [
        {
          name: 'stats',
          kind: 'file',
          format: 'csv',
          path: 'unused.csv',
          columns: [
            { name: 'user_id', type: 'int64' },
            { name: 'ts', type: 'timestamp' },
            ...cols.map((name) => ({ name, type: 'float64' })),
          ],
        },
      ],
      featureViews: [
        {
          name: 'stats',
          entities: ['user'],
          source: 'stats',
          timestampField: 'ts',
          features: cols.map((name) => ({ name, type: 'float64' })),
        },
      ],
    },
  });
  const view = repo.views.get('stats');
  if (!view) throw new Error('bench repo has no view');
  const store = new FsObjectStore(join(ctx.workDir, 's3'));
  const engine = await DuckDbEngine.create({ threads: 2 });
  const ddb = await startDynamoDb();
  const { client, doc } = localDynamoClients(ddb.endpoint);
  try {
    ctx.progress(`ingesting ${keys * rowsPerKey} rows (${keys} keys x ${FEATURES} features)`);
    const file = join(ctx.workDir, 'stats.csv');
    await engine.run(
      `COPY (SELECT (i % ${keys})::BIGINT AS user_id, TIMESTAMPTZ '2024-05-01 00:00:00+00' + to_seconds((i // ${keys}) * 3600 + 60) AS ts, ` +
        `${cols.map((c, j) => `round(random() * ${j + 1} * 100, 2) AS ${c}`).join(', ')} FROM range(${keys * rowsPerKey}) r(i)) TO '${file}' (FORMAT csv, HEADER)`,
    );
    const ingest = await ingestBatch({ repo, engine, store, bucket: BUCKET }, { source: 'stats', file });
    if (ingest.status !== 'ingested') throw new Error(`bench batch was ${ingest.status}`);
    const start = Date.parse('2024-05-01T00:00:00Z') * 1000;
    const end = Date.parse('2024-05-02T00:00:00Z') * 1000;
    // The baseline's items: exactly what ours writes, computed once outside its timing.
    const { relation: rel } = await registerOfflineRows(
      engine,
      store,
      BUCKET,
      view,
      datesBetween(start, end),
    );
    const items = (await snapshotItems(engine, view, rel, { start, end })).map((i) => ({
      ...i.attrs,
      pk: i.pk,
      sk: 'v',
      ets: i.ets,
      cts: i.cts,
      asof: i.asof,
    }));
    if (items.length !== keys) throw new Error(`expected ${keys} items, got ${items.length}`);

    let tables = 0;
    /** A new empty table, ACTIVE before any timing starts. */
    const freshTable = async () => {
      const name = `bench-${tables++}`;
      await ensureOnlineTable(client, name);
      return name;
    };
    const baselineRun = async () => {
      const name = await freshTable();
      const batches = Array.from({ length: Math.ceil(items.length / 25) }, (_, b) =>
        items.slice(b * 25, b * 25 + 25),
      );
      const t0 = performance.now();
      await mapLimit(batches, CONCURRENCY, async (batch) => {
        let requests: Record<string, unknown>[] = batch.map((Item) => ({ PutRequest: { Item } }));
        while (requests.length > 0) {
          const res = await doc.send(new BatchWriteCommand({ RequestItems: { [name]: requests } }));
          requests = (res.UnprocessedItems?.[name] as Record<string, unknown>[] | undefined) ?? [];
        }
      });
      return items.length / ((performance.now() - t0) / 1000);
    };
    /** Ours into a fresh table; `readVersions` first sets the reach ahead of every row. */
    const oursRun = async (readVersions = false) => {
      const table = new DynamoOnlineTable(doc, await freshTable(), { concurrency: CONCURRENCY });
      if (readVersions) await table.raiseReach('stats', end);
      const t0 = performance.now();
      const r = await materialize({ repo, engine, store, bucket: BUCKET, table }, { start, end });
      const s = (performance.now() - t0) / 1000;
      if (r.views[0]?.written !== keys) throw new Error(`ours wrote ${r.views[0]?.written} of ${keys}`);
      if (r.views[0]?.blind !== (readVersions ? 0 : keys))
        throw new Error(`ours wrote ${r.views[0]?.blind} of ${keys} keys without a version read`);
      return keys / s;
    };
    ctx.progress('warming up');
    await baselineRun();
    await oursRun();
    await oursRun(true);
    const ours: number[] = [];
    const checked: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < rounds; i++) {
      ctx.progress(`round ${i + 1}/${rounds}`);
      baseline.push(await baselineRun());
      ours.push(await oursRun());
      checked.push(await oursRun(true));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const results: BenchMeasurement[] = [
      {
        id: 'features.materialize.keys-per-s',
        ours: Math.round(median(ours)),
        baseline: Math.round(median(baseline)),
        unit: 'keys/s',
        goal: { ratioAtLeast: 0.8 },
        extra: {
          keys,
          offlineRows: keys * rowsPerKey,
          features: FEATURES,
          concurrency: CONCURRENCY,
          rounds,
          oursRuns: ours.map((x) => Math.round(x)).join(' '),
          baselineRuns: baseline.map((x) => Math.round(x)).join(' '),
        },
      },
      {
        id: 'features.materialize.version-reads.keys-per-s',
        ours: Math.round(median(checked)),
        baseline: Math.round(median(baseline)),
        unit: 'keys/s',
        goal: {},
        extra: {
          keys,
          concurrency: CONCURRENCY,
          rounds,
          oursRuns: checked.map((x) => Math.round(x)).join(' '),
        },
      },
    ];
    return results;
  } finally {
    engine.close();
    client.destroy();
    await ddb.close();
  }
}) satisfies Benchmark;
