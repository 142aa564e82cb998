import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapLimit } from '../../platform/concurrency';
import { BadRequestError, ConflictError, InvalidParameterError, NotFoundError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import type { FeatureRepo, ResolvedView } from '../definitions/repo';
import { checkBatch } from '../ingestion/batch-checks';
import { ingestRows, rowsToCsv } from '../ingestion/ingest';
import type { DuckDbEngine } from '../offline/duckdb-engine';
import { literal, q } from '../offline/render-sql';
import { isNewer, type OnlineItem, widestWindow, windowColumns } from './online-item';
import type { OnlineTable } from './online-table';
import { snapshotItems } from './snapshot';
import { mergeWindowEvents } from './window-aggregate';

/** Feast's push request: a push source, rows as columns, and where they go. */
export interface PushRequest {
  readonly push_source_name: string;
  readonly df: Readonly<Record<string, readonly (string | number | boolean | null)[]>>;
  /** @default 'online' */
  readonly to?: 'online' | 'offline' | 'online_and_offline';
}

/** What push needs. */
export interface PushDeps {
  readonly repo: FeatureRepo;
  readonly engine: DuckDbEngine;
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly table: OnlineTable;
}

/** Most rows one push may carry. */
export const MAX_PUSH_ROWS = 10_000;

/**
 * Pushes fresh rows of a push source to the online store, the offline store, or both. The rows
 * first pass exactly the checks of batch ingestion (schema, types, nulls, ranges, allowed
 * values, expectations); a failing push is refused whole with every failed check named, and
 * nothing is written. Offline, the rows become a committed batch (`ingestRows`); online, each
 * view reading the source gets its latest row per key with a conditional write (an older row
 * never replaces a newer one), and views with window aggregations merge the rows into their
 * event lists (read, merge, write if unchanged; retried on a race).
 *
 * @example
 * await pushRows(deps, { push_source_name: 'clicks', df: { user_id: [1], ts: ['2024-05-01T00:00:00Z'], n: [3] } });
 */
export async function pushRows(
  deps: PushDeps,
  req: PushRequest,
): Promise<{ rows: number; views: string[]; written: number; to: string }> {
  const source = deps.repo.sources.get(req.push_source_name);
  if (!source) {
    throw new NotFoundError(
      `push source '${req.push_source_name}' not found; known: ${
        [...deps.repo.sources.values()]
          .filter((s) => s.kind === 'push')
          .map((s) => s.name)
          .join(', ') || '(none)'
      }`,
    );
  }
  if (source.kind !== 'push') {
    throw new InvalidParameterError(
      `source '${source.name}' is a ${source.format} file source, not a push source`,
    );
  }
  const to = req.to ?? 'online';
  const names = Object.keys(req.df);
  const n = req.df[names[0] ?? '']?.length ?? 0;
  for (const c of names) {
    if (req.df[c]?.length !== n) {
      throw new InvalidParameterError(
        `df.${c} has ${req.df[c]?.length} value(s) but df.${names[0]} has ${n}; every column needs one value per row`,
      );
    }
  }
  if (n === 0) throw new InvalidParameterError('df: push at least one row');
  if (n > MAX_PUSH_ROWS) throw new InvalidParameterError(`df: ${n} rows; at most ${MAX_PUSH_ROWS} per push`);
  const rows = Array.from({ length: n }, (_, j) =>
    Object.fromEntries(names.map((c) => [c, req.df[c]?.[j] ?? null])),
  );
  const views = [...deps.repo.views.values()].filter((v) => v.source.name === source.name);
  if (views.length === 0)
    throw new InvalidParameterError(`no feature view reads source '${source.name}'; define one first`);

  const { engine } = deps;
  const dir = await mkdtemp(join(tmpdir(), 'mlops-push-'));
  try {
    const file = join(dir, 'rows.csv');
    await writeFile(file, rowsToCsv(rows));
    await engine.run(
      `CREATE OR REPLACE TEMP TABLE "__push" AS SELECT * FROM read_csv(${literal(file)}, header = true, all_varchar = true)`,
    );
    const nonNull = new Set(views.flatMap((v) => [...v.joinKeys.map((k) => k.name), v.def.timestampField]));
    const checks = await checkBatch(engine, '__push', '__push_typed', source, names, nonNull);
    const failed = checks.filter((c) => !c.passed);
    if (failed.length > 0) {
      throw new BadRequestError(
        `push to '${source.name}' refused, nothing written: ${failed.map((c) => `${c.check}${c.column ? ` '${c.column}'` : ''}: ${c.message}`).join('; ')}`,
      );
    }
    if (to !== 'online') {
      const r = await ingestRows(deps, source.name, rows);
      if (r.status === 'quarantined')
        throw new BadRequestError(`push to '${source.name}' was quarantined: ${r.reportKey}`);
    }
    let written = 0;
    if (to !== 'offline') {
      for (const view of views) written += await pushOnline(deps, view);
    }
    return { rows: n, views: views.map((v) => v.def.name), written, to };
  } finally {
    await engine.run('DROP TABLE IF EXISTS "__push"');
    await engine.run('DROP TABLE IF EXISTS "__push_typed"');
    await rm(dir, { recursive: true, force: true });
  }
}

async function pushOnline(deps: PushDeps, view: ResolvedView): Promise<number> {
  const ts = q(view.def.timestampField);
  const maxTs = Number(
    (await deps.engine.query(`SELECT max(epoch_us(${ts})) AS m FROM "__push_typed"`))[0]?.['m'],
  );
  const items = await snapshotItems(deps.engine, view, '__push_typed', {
    start: Number.MIN_SAFE_INTEGER,
    end: maxTs,
  });
  // Before writing: a run that later trusts the reach must see these event times in it.
  await deps.table.raiseReach(view.def.name, maxTs);
  if (view.aggregations.length === 0) {
    const ok = await mapLimit(items, 16, (i) => deps.table.putIfNewer(i));
    return ok.filter(Boolean).length;
  }
  await mapLimit(items, 16, (i) => mergeOne(deps.table, view, i));
  return items.length;
}

/** Read, merge the pushed events in, write if nobody wrote in between; retried on a race. */
async function mergeOne(table: OnlineTable, view: ResolvedView, incoming: OnlineItem): Promise<void> {
  const cols = windowColumns(view);
  for (let attempt = 0; attempt < 8; attempt++) {
    const stored = (await table.getItems([incoming.pk], 'all')).get(incoming.pk);
    const storedVersion = stored
      ? { ets: Number(stored['ets']), cts: Number(stored['cts']), asof: Number(stored['asof']) }
      : undefined;
    const latestIsNew = isNewer({ ...incoming, asof: 0 }, storedVersion && { ...storedVersion, asof: 0 });
    const asof = Math.max(incoming.asof, storedVersion?.asof ?? 0);
    const base =
      latestIsNew || !stored ? incoming : { ...incoming, ...storedVersion, attrs: featuresOf(stored) };
    const attrs = {
      ...base.attrs,
      ...mergeWindowEvents(stored, incoming.attrs, cols, asof, widestWindow(view)),
    };
    const merged: OnlineItem = { ...base, asof, attrs };
    if (await table.putIfRev(merged, stored?.['rev'] as string | undefined)) return;
  }
  throw new ConflictError(`push: item ${incoming.pk} kept changing under concurrent writes; retry the push`);
}

function featuresOf(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([k]) => k.startsWith('f_')));
}
