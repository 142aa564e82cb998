import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildRepo, type FeatureRepo } from '../../lambdas/features/definitions/repo';
import { ingestBatch } from '../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { literal } from '../../lambdas/features/offline/render-sql';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';

export const BUCKET = 'features';
export const fixture = (name: string): string => join(import.meta.dirname, 'fixtures', name);

/** A scratch store, engine and repo for one test file. */
export interface World {
  readonly dir: string;
  readonly store: FsObjectStore;
  readonly engine: DuckDbEngine;
  readonly repo: FeatureRepo;
  close(): Promise<void>;
}

export async function makeWorld(definitionsFixture: string): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'features-test-'));
  const store = new FsObjectStore(join(dir, 's3'));
  const engine = await DuckDbEngine.create({ threads: 2 });
  const repo = buildRepo({ file: parse(await readFile(fixture(definitionsFixture), 'utf8')) });
  return {
    dir,
    store,
    engine,
    repo,
    close: async () => {
      engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Ingests fixture batches and fails the test on a quarantine. */
export async function ingestAll(w: World, batches: [source: string, file: string][]): Promise<void> {
  for (const [source, file] of batches) {
    const r = await ingestBatch(
      { repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET },
      { source, file: fixture(file) },
    );
    if (r.status === 'quarantined')
      throw new Error(`fixture ${file} was quarantined: ${JSON.stringify(r.report.checks)}`);
  }
}

/** Reads a written file back as plain rows (timestamps as ISO strings, bigints as numbers). */
export async function readRows(engine: DuckDbEngine, path: string): Promise<Record<string, unknown>[]> {
  const reader = path.endsWith('.csv') ? `read_csv(${literal(path)})` : `read_parquet(${literal(path)})`;
  const rows = await engine.query(`SELECT * FROM ${reader}`);
  return rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [
        k,
        v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : v,
      ]),
    ),
  );
}
