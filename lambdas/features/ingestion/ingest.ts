import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import type { FeatureRepo } from '../definitions/repo';
import type { DuckDbEngine } from '../offline/duckdb-engine';
import { fileFormat, readCsvHeader } from '../offline/entity-rows';
import { type BatchManifest, manifestKey, quarantinePrefix, viewPrefix } from '../offline/offline-store';
import { literal, q } from '../offline/render-sql';
import { type CheckResult, checkBatch } from './batch-checks';
import { renderReport } from './quarantine-report';

/** The readable report of a batch's checks (stored as JSON, summarized as Markdown). */
export interface BatchReport {
  readonly source: string;
  readonly batchId: string;
  readonly file: string;
  readonly rows: number;
  readonly passed: boolean;
  readonly checkedAt: string;
  readonly checks: readonly CheckResult[];
}

/** The outcome of an ingest call. */
export type IngestResult =
  | {
      readonly status: 'ingested' | 'already-ingested';
      readonly batchId: string;
      readonly rows: number;
      readonly views: readonly string[];
    }
  | {
      readonly status: 'quarantined';
      readonly batchId: string;
      readonly report: BatchReport;
      readonly reportKey: string;
    };

/** What ingestion needs. */
export interface IngestDeps {
  readonly repo: FeatureRepo;
  readonly engine: DuckDbEngine;
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly progress?: (message: string) => void;
  readonly now?: () => Date;
}

/**
 * Ingests one batch (a CSV or Parquet file) of a source into the offline store of every
 * feature view that reads it. The batch is checked first; a failing batch is quarantined under
 * `quarantine/<source>/<batch-id>/` (the data, `report.json`, `report.md`) and nothing of it
 * reaches the store. A passing batch is written as Parquet partitioned by event date, then
 * committed per view by one manifest PUT, so readers see all of it or none. The batch id is
 * derived from the content: a rerun of the same batch is a no-op, and a rerun after a crash
 * completes the commit.
 *
 * @example
 * const r = await ingestBatch(deps, { source: 'purchases', file: 'data/purchases.csv' });
 */
export async function ingestBatch(
  deps: IngestDeps,
  req: { source: string; file: string },
): Promise<IngestResult> {
  const { repo, engine, store, bucket } = deps;
  const progress = deps.progress ?? (() => undefined);
  const source = repo.sources.get(req.source);
  if (!source) {
    throw new NotFoundError(
      `source '${req.source}' not found; known: ${[...repo.sources.keys()].join(', ') || '(none)'}`,
    );
  }
  const views = [...repo.views.values()].filter((v) => v.source.name === source.name);
  if (views.length === 0)
    throw new InvalidParameterError(
      `no feature view reads source '${source.name}'; define one before ingesting`,
    );
  const format = fileFormat(req.file, 'batch file');
  let bytes: Buffer;
  try {
    bytes = await readFile(req.file);
  } catch {
    throw new InvalidParameterError(`batch file '${req.file}' cannot be read; check the path`);
  }
  const batchId = createHash('sha256')
    .update(source.name)
    .update('\0')
    .update(bytes)
    .digest('hex')
    .slice(0, 20);
  const done = await Promise.all(views.map((v) => store.head(bucket, manifestKey(v.def.name, batchId))));
  if (done.every(Boolean)) {
    progress(`batch ${batchId} of '${source.name}' is already ingested`);
    return { status: 'already-ingested', batchId, rows: 0, views: views.map((v) => v.def.name) };
  }

  progress(`checking batch ${batchId} (${basename(req.file)}) against source '${source.name}'`);
  let header: string[];
  if (format === 'csv') {
    header = await readCsvHeader(req.file);
    await engine.run(
      `CREATE OR REPLACE TEMP TABLE "__batch" AS SELECT * FROM read_csv(${literal(req.file)}, header = true, all_varchar = true)`,
    );
  } else {
    await engine.run(
      `CREATE OR REPLACE TEMP TABLE "__batch" AS SELECT * FROM read_parquet(${literal(req.file)})`,
    );
    header = (await engine.query(`SELECT name FROM parquet_schema(${literal(req.file)})`))
      .slice(1)
      .map((r) => String(r['name']));
  }
  const rows = Number((await engine.query('SELECT count(*) AS n FROM "__batch"'))[0]?.['n'] ?? 0);
  const nonNull = new Set(views.flatMap((v) => [...v.joinKeys.map((k) => k.name), v.def.timestampField]));
  const checks = await checkBatch(engine, '__batch', '__batch_typed', source, header, nonNull);
  const now = (deps.now ?? (() => new Date()))();
  const report: BatchReport = {
    source: source.name,
    batchId,
    file: req.file,
    rows,
    passed: checks.every((c) => c.passed),
    checkedAt: now.toISOString(),
    checks,
  };
  if (!report.passed) {
    const prefix = quarantinePrefix(source.name, batchId);
    await store.put(bucket, `${prefix}data.${format}`, bytes);
    await store.put(bucket, `${prefix}report.md`, renderReport(report), { contentType: 'text/markdown' });
    await store.put(bucket, `${prefix}report.json`, JSON.stringify(report, null, 2), {
      contentType: 'application/json',
    });
    await dropTemp(engine);
    progress(`batch ${batchId} quarantined under ${prefix}`);
    return { status: 'quarantined', batchId, report, reportKey: `${prefix}report.md` };
  }

  // Write every view's files first, then commit each view with its manifest.
  const work = await mkdtemp(join(tmpdir(), 'mlops-ingest-'));
  const manifests: BatchManifest[] = [];
  try {
    for (const v of views) {
      const dir = join(work, v.def.name);
      const cols = [...v.columns.keys()].map(q).join(', ');
      progress(`writing ${rows} rows to feature view '${v.def.name}'`);
      await engine.run(
        `COPY (SELECT ${cols}, strftime(${q(v.def.timestampField)}, '%Y-%m-%d') AS "date" FROM "__batch_typed") ` +
          `TO ${literal(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ("date"), FILENAME_PATTERN '${batchId}-{i}', OVERWRITE_OR_IGNORE true)`,
      );
      const files: string[] = [];
      for (const f of await listFiles(dir)) {
        const key = `${viewPrefix(v.def.name)}${relative(dir, f).split(sep).join('/')}`;
        await store.put(bucket, key, await readFile(f));
        files.push(key);
      }
      manifests.push({
        batchId,
        source: source.name,
        view: v.def.name,
        rows,
        files,
        ingestedAt: now.toISOString(),
      });
    }
    for (const m of manifests) {
      await store.put(bucket, manifestKey(m.view, batchId), JSON.stringify(m, null, 2), {
        contentType: 'application/json',
        ifNoneMatch: true,
      });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    await dropTemp(engine);
  }
  progress(`batch ${batchId} committed to ${views.map((v) => v.def.name).join(', ')}`);
  return { status: 'ingested', batchId, rows, views: views.map((v) => v.def.name) };
}

/**
 * Ingests rows pushed to a source (a push source, or the pipeline's ingestion task): the rows
 * become a temporary CSV batch and go through exactly the checks and commit of `ingestBatch`.
 *
 * @example
 * await ingestRows(deps, 'clicks', [{ user_id: 1, ts: '2024-01-01T00:00:00Z', n: 3 }]);
 */
export async function ingestRows(
  deps: IngestDeps,
  source: string,
  rows: readonly Record<string, string | number | boolean | null>[],
): Promise<IngestResult> {
  const def = deps.repo.sources.get(source);
  if (!def) throw new NotFoundError(`source '${source}' not found`);
  const csv = rowsToCsv(rows);
  const dir = await mkdtemp(join(tmpdir(), 'mlops-push-'));
  const file = join(dir, `${randomUUID()}.csv`);
  try {
    await writeFile(file, csv);
    return await ingestBatch(deps, { source, file });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Rows as RFC 4180 CSV text with a header of every key seen (null and missing become empty). */
export function rowsToCsv(rows: readonly Record<string, string | number | boolean | null>[]): string {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown): string =>
    v === null || v === undefined ? '' : `"${String(v).replaceAll('"', '""')}"`;
  return [names.map(cell).join(','), ...rows.map((r) => names.map((n) => cell(r[n])).join(','))].join('\n');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
}

async function dropTemp(engine: DuckDbEngine): Promise<void> {
  await engine.run('DROP TABLE IF EXISTS "__batch"');
  await engine.run('DROP TABLE IF EXISTS "__batch_typed"');
}
