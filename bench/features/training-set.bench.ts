import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { manifestKey } from '../../lambdas/features/offline/offline-store';
import { literal } from '../../lambdas/features/offline/render-sql';
import { buildTrainingSet } from '../../lambdas/features/offline/training-set';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { type Benchmark, peakRssMiB } from '../harness';

const BUCKET = 'features';
const RUNS = 3;

/**
 * A training set of 1,000,000 entity rows against a feature view of 5,000,000 rows (quick:
 * 100k x 500k), ours (the full path: load and check entity rows, point-in-time join with
 * TTL, write Parquet, digest) against a bare DuckDB ASOF JOIN over the same files written to
 * Parquet. Median of three alternating runs.
 */
export default (async (ctx) => {
  const entities = ctx.quick ? 100_000 : 1_000_000;
  const featureRows = ctx.quick ? 500_000 : 5_000_000;
  const users = Math.max(1000, featureRows / 50);
  const storeRoot = join(ctx.workDir, 's3');
  const viewDir = join(storeRoot, BUCKET, 'offline', 'purchases');
  const entityFile = join(ctx.workDir, 'entity_rows.parquet');
  const engine = await DuckDbEngine.create();
  ctx.progress(`generating ${featureRows} feature rows and ${entities} entity rows`);
  await mkdir(viewDir, { recursive: true });
  await engine.run(
    `COPY (SELECT (i % ${users})::BIGINT AS user_id, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds((hash(i) % 31536000)::BIGINT) AS ts, ` +
      `round(random() * 1000, 2) AS amount, (i % 7)::BIGINT AS n, strftime(ts, '%Y-%m') AS "date" FROM range(${featureRows}) r(i)) ` +
      `TO ${literal(viewDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ("date"), FILENAME_PATTERN 'bench-{i}')`,
  );
  await engine.run(
    `COPY (SELECT (hash(i + 7) % ${users})::BIGINT AS user_id, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds((hash(i + 3) % 31536000)::BIGINT) AS event_timestamp, ` +
      `(i % 2)::BIGINT AS label FROM range(${entities}) r(i)) TO ${literal(entityFile)} (FORMAT parquet)`,
  );
  const files = (await readdir(viewDir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => `offline/purchases/${relative(viewDir, join(e.parentPath, e.name)).split(sep).join('/')}`);
  const manifest = {
    batchId: 'bench',
    source: 'purchases',
    view: 'purchases',
    rows: featureRows,
    files,
    ingestedAt: new Date().toISOString(),
  };
  await mkdir(join(storeRoot, BUCKET, 'offline', 'purchases', '_manifests'), { recursive: true });
  await writeFile(join(storeRoot, BUCKET, manifestKey('purchases', 'bench')), JSON.stringify(manifest));
  engine.close();

  const repo = buildRepo({
    file: {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
      sources: [
        {
          name: 'purchases',
          kind: 'push',
          columns: [
            { name: 'user_id', type: 'int64' },
            { name: 'ts', type: 'timestamp' },
            { name: 'amount', type: 'float64' },
            { name: 'n', type: 'int64' },
          ],
        },
      ],
      featureViews: [
        {
          name: 'purchases',
          entities: ['user'],
          source: 'purchases',
          timestampField: 'ts',
          ttl: '30d',
          features: [
            { name: 'amount', type: 'float64' },
            { name: 'n', type: 'int64' },
          ],
        },
      ],
    },
  });
  const store = new FsObjectStore(storeRoot);
  const glob = join(viewDir, '*', '*.parquet');

  const baseline = async (i: number): Promise<number> => {
    const e = await DuckDbEngine.create();
    const t0 = performance.now();
    await e.write(
      `SELECT r.*, f.amount, f.n FROM read_parquet(${literal(entityFile)}) r ASOF LEFT JOIN read_parquet(${literal(glob)}, hive_partitioning = false) f ` +
        `ON r.user_id = f.user_id AND r.event_timestamp >= f.ts`,
      join(ctx.workDir, `baseline-${i}.parquet`),
      'parquet',
    );
    const s = (performance.now() - t0) / 1000;
    e.close();
    return s;
  };
  let digest = '';
  const ours = async (i: number): Promise<number> => {
    const e = await DuckDbEngine.create();
    const t0 = performance.now();
    const r = await buildTrainingSet(
      { repo, engine: e, store, bucket: BUCKET },
      {
        entityRows: entityFile,
        features: ['purchases:amount', 'purchases:n'],
        output: join(ctx.workDir, `ours-${i}.parquet`),
      },
    );
    const s = (performance.now() - t0) / 1000;
    e.close();
    if (digest && digest !== r.digest) throw new Error('digest differs between runs');
    digest = r.digest;
    return s;
  };
  const b: number[] = [];
  const o: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    b.push(await baseline(i));
    ctx.progress(`run ${i + 1}/${RUNS}: baseline ${b.at(-1)?.toFixed(2)} s`);
    o.push(await ours(i));
    ctx.progress(`run ${i + 1}/${RUNS}: ours ${o.at(-1)?.toFixed(2)} s`);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;
  return [
    {
      id: 'features.training-set.seconds',
      ours: median(o),
      baseline: median(b),
      unit: 's',
      goal: { ratioAtMost: 1.5 },
      extra: {
        entityRows: entities,
        featureRows,
        runsOurs: o.map((x) => x.toFixed(2)).join(' '),
        runsBaseline: b.map((x) => x.toFixed(2)).join(' '),
        peakRssMiB: Math.round(peakRssMiB()),
        digest,
      },
    },
  ];
}) satisfies Benchmark;
