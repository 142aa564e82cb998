import { createHash } from 'node:crypto';
import { mapLimit } from '../../platform/concurrency';
import {
  ConflictError,
  InvalidParameterError,
  InvalidStateError,
  NotFoundError,
} from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import type { FeatureRepo, ResolvedView } from '../definitions/repo';
import type { DuckDbEngine } from '../offline/duckdb-engine';
import { registerOfflineRows } from '../offline/offline-relation';
import { datesBetween } from '../offline/partition-dates';
import { isNewer, type OnlineItem, widestWindow } from './online-item';
import { NO_REACH, type OnlineTable } from './online-table';
import { snapshotItems, windowStats } from './snapshot';

/** What materialization needs: the repo, the offline store (via DuckDB) and the online table. */
export interface MaterializeDeps {
  readonly repo: FeatureRepo;
  readonly engine: DuckDbEngine;
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly table: OnlineTable;
  readonly progress?: (message: string) => void;
  readonly now?: () => Date;
  /** Entity keys per chunk. @default 50,000 */
  readonly chunkKeys?: number;
  /** How long a run holds its view's lease. @default 15 minutes */
  readonly leaseMs?: number;
  /** Units of work in flight: conditional puts (push-fed views, default 32) or 100-key read-and-write units (16). */
  readonly concurrency?: number;
}

/** One view's run: its window (epoch micros), chunks, and the chunks an earlier attempt finished. */
export interface ViewRun {
  readonly runId: string;
  readonly view: string;
  readonly start: number;
  readonly end: number;
  readonly keys: number;
  readonly chunks: number;
  readonly done: readonly number[];
  /** The greatest event time (epoch micros) in the window: the view's reach was raised to it. */
  readonly reach: number;
  /**
   * The view's reach before this run: an item with a later event time is newer than anything
   * stored, so it is written without reading the stored version. Absent: read every version.
   */
  readonly floor?: number;
}

/** What a chunk wrote. */
export interface ChunkResult {
  readonly view: string;
  readonly chunk: number;
  readonly written: number;
  /** Keys whose online value was already as new or newer (reruns, older data). */
  readonly skipped: number;
  /** Keys written without reading their stored version (later than the run's floor). */
  readonly blind: number;
}

/**
 * Starts (or resumes) a view's run for [start, end]: counts the entity keys in the window,
 * splits them into chunks by key hash, and takes the view's lease so two runs never write the
 * same view at once. Before any chunk writes, the view's reach is raised to the window's
 * latest event time, and the reach from before is kept as the run's floor. The run id derives
 * from (view, start, end): a rerun of the same window after a crash is the same run and keeps
 * the chunks already done (and its floor); another window waits for the lease (renewed by
 * every finished chunk) to end or expire.
 *
 * @example
 * const run = await planViewRun(deps, 'purchases', start, end);
 */
export async function planViewRun(
  deps: MaterializeDeps,
  viewName: string,
  start: number,
  end: number,
): Promise<ViewRun> {
  const view = viewOf(deps.repo, viewName);
  if (!(end >= start)) {
    throw new InvalidParameterError(`materialize '${viewName}': --end must not be before --start`);
  }
  const chunkKeys = deps.chunkKeys ?? 50_000;
  if (!(Number.isSafeInteger(chunkKeys) && chunkKeys > 0)) {
    throw new InvalidParameterError(`chunkKeys is ${chunkKeys}; pass a positive integer (keys per chunk)`);
  }
  const { relation } = await registerOfflineRows(
    deps.engine,
    deps.store,
    deps.bucket,
    view,
    datesBetween(start, end),
  );
  const { keys, maxEts } = await windowStats(deps.engine, view, relation, { start, end });
  const reach = maxEts ?? NO_REACH;
  const chunks = Math.max(1, Math.ceil(keys / chunkKeys));
  const runId = createHash('sha256').update(`${viewName}\0${start}\0${end}`).digest('hex').slice(0, 16);
  const nowMs = (deps.now?.() ?? new Date()).getTime();
  const lease = await deps.table.beginRun(
    viewName,
    runId,
    chunks,
    nowMs + (deps.leaseMs ?? 15 * 60_000),
    nowMs,
    reach,
  );
  if (!lease.ok) {
    throw new ConflictError(
      `feature view '${viewName}' is being materialized by run ${lease.holder} until ${new Date(lease.until).toISOString()}; wait for it to finish, or rerun after its lease expires`,
    );
  }
  const floor = lease.state.run?.floor;
  const done = lease.state.run?.done ?? [];
  return {
    runId,
    view: viewName,
    start,
    end,
    keys,
    chunks,
    done,
    reach,
    ...(floor !== undefined ? { floor } : {}),
  };
}

/**
 * Materializes one chunk of a run: the chunk's latest rows (and window events) from the offline
 * store, written so an older value never replaces a newer one. Views fed only by batch files
 * have no other writer while the run holds the lease: items later than the run's floor are
 * newer than anything stored and go straight to BatchWriteItem; for the others a BatchGetItem
 * of the stored versions picks the keys that are older or missing. Views fed by a push source
 * can be written by `/features/push` at any time: their items go through a conditional PutItem
 * each. Idempotent: a rerun of a finished window finds every version equal and writes nothing.
 *
 * @example
 * await materializeChunk(deps, run, 0);
 */
export async function materializeChunk(
  deps: MaterializeDeps,
  run: ViewRun,
  chunk: number,
): Promise<ChunkResult> {
  const view = viewOf(deps.repo, run.view);
  // Held before reading and kept before every write: a chunk that outlives its lease (another
  // run may then own the view) stops instead of writing beside that run.
  const lease = new RunLease(deps, run);
  await lease.keep();
  const { relation } = await registerOfflineRows(
    deps.engine,
    deps.store,
    deps.bucket,
    view,
    datesBetween(Math.min(run.start, run.end - widestWindow(view) * 1e6), run.end),
  );
  const items = await snapshotItems(deps.engine, view, relation, {
    start: run.start,
    end: run.end,
    chunk: { index: chunk, count: run.chunks },
  });
  const latest = items.reduce((m, i) => Math.max(m, i.ets), NO_REACH);
  // Rows ingested since the plan may lie past the run's reach: raise it before writing them.
  // (Negated so a payload without `reach`, from before reaches were kept, raises too.)
  if (!(latest <= run.reach)) await deps.table.raiseReach(run.view, latest);
  const { written, blind } = await writeNewer(deps, view, items, run.floor, () => lease.keep());
  const leaseUntil = (deps.now?.() ?? new Date()).getTime() + (deps.leaseMs ?? 15 * 60_000);
  await deps.table.chunkDone(run.view, run.runId, chunk, leaseUntil);
  return { view: run.view, chunk, written, skipped: items.length - written, blind };
}

/**
 * A run's lease as a chunk keeps it: renewed (conditionally on still holding it) once a
 * third of its time has passed, so every write falls within a lease this run holds.
 */
class RunLease {
  private renewedAt = Number.NEGATIVE_INFINITY;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly deps: MaterializeDeps,
    private readonly run: ViewRun,
  ) {}

  /** Renews the lease when due; a ConflictError when the run no longer holds it. */
  keep(): Promise<void> {
    const leaseMs = this.deps.leaseMs ?? 15 * 60_000;
    const now = (this.deps.now?.() ?? new Date()).getTime();
    if (now - this.renewedAt < leaseMs / 3) return Promise.resolve();
    // Concurrent write units share one renewal.
    this.renewing ??= this.renew(now, leaseMs).finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renew(now: number, leaseMs: number): Promise<void> {
    const { view, runId } = this.run;
    if (!(await this.deps.table.renewLease(view, runId, now + leaseMs, now))) {
      throw new ConflictError(
        `materialize '${view}': run ${runId} no longer holds the view's lease (it expired and another run may have taken it); this chunk stopped before writing more; rerun the same window to resume`,
      );
    }
    this.renewedAt = now;
  }
}

/**
 * Writes the items that are newer than what the table holds; returns how many were written and
 * how many of those without reading the stored version. `floor` is the view's reach before the
 * run (no stored item has a later event time, and no other writer runs during the run), so
 * an item with a strictly later event time is newer than whatever is stored: the version read
 * would only confirm it. File-fed views only: push-fed views have a concurrent writer.
 * `beforeWrite` runs before each write (materialization keeps its lease there).
 */
export async function writeNewer(
  deps: Pick<MaterializeDeps, 'table' | 'concurrency'>,
  view: ResolvedView,
  items: readonly OnlineItem[],
  floor?: number,
  beforeWrite: () => Promise<void> = async () => undefined,
): Promise<{ written: number; blind: number }> {
  await beforeWrite();
  if (view.source.kind === 'push') {
    const ok = await mapLimit(items, deps.concurrency ?? 32, (i) => deps.table.putIfNewer(i));
    return { written: ok.filter(Boolean).length, blind: 0 };
  }
  const blind: OnlineItem[] = [];
  const check: OnlineItem[] = [];
  for (const i of items) (floor !== undefined && i.ets > floor ? blind : check).push(i);
  await deps.table.putItems(blind);
  // Units of 100 keys (one BatchGetItem, then up to 4 BatchWriteItem) run in parallel, so
  // reads and writes stay in flight together instead of alternating in large slices.
  const units = Array.from({ length: Math.ceil(check.length / 100) }, (_, u) =>
    check.slice(u * 100, u * 100 + 100),
  );
  let written = blind.length;
  await mapLimit(units, deps.concurrency ?? 16, async (unit) => {
    const stored = await deps.table.getVersions(unit.map((x) => x.pk));
    const newer = unit.filter((x) => isNewer(x, stored.get(x.pk)));
    await beforeWrite();
    await deps.table.putItems(newer);
    written += newer.length;
  });
  return { written, blind: blind.length };
}

/**
 * Ends a run: the watermark moves to its end (never backwards) and the lease is released.
 * Refused while a chunk is not done, so a partial run never moves the watermark.
 */
export async function finishViewRun(deps: MaterializeDeps, run: ViewRun): Promise<void> {
  const state = await deps.table.getState(run.view);
  if (state.run?.runId === run.runId) {
    const missing = Array.from({ length: state.run.chunks }, (_, i) => i).filter(
      (i) => !state.run?.done.includes(i),
    );
    if (missing.length > 0) {
      throw new InvalidStateError(
        `materialization of '${run.view}' cannot finish: chunk(s) ${missing.join(', ')} not done; rerun the same window to complete them`,
      );
    }
  }
  await deps.table.finishRun(run.view, run.runId, run.end);
}

/** The summary of a whole materialization. */
export interface MaterializeSummary {
  readonly views: readonly {
    view: string;
    start: string;
    end: string;
    keys: number;
    written: number;
    skipped: number;
    /** Keys written without reading their stored version. */
    blind: number;
    chunks: number;
  }[];
}

/**
 * Materializes views for [start, end] in-process (the CLI; on AWS the state machine runs the
 * same three steps): plan, every chunk not yet done, finish. A crash leaves the lease and the
 * finished chunks recorded and the watermark unmoved; rerunning the same command resumes.
 *
 * @example
 * await materialize(deps, { start: Date.parse('2024-01-01Z') * 1000, end: Date.now() * 1000 });
 */
export async function materialize(
  deps: MaterializeDeps,
  req: { views?: readonly string[]; start: number; end: number },
): Promise<MaterializeSummary> {
  const out: MaterializeSummary['views'][number][] = [];
  for (const name of selectViews(deps.repo, req.views))
    out.push(await runView(deps, name, req.start, req.end));
  return { views: out };
}

/**
 * Materializes each view from its watermark (or, the first time, from end − TTL, or from the
 * beginning without a TTL) up to `end`.
 *
 * @example
 * await materializeIncremental(deps, { end: Date.now() * 1000 });
 */
export async function materializeIncremental(
  deps: MaterializeDeps,
  req: { views?: readonly string[]; end: number },
): Promise<MaterializeSummary> {
  const out: MaterializeSummary['views'][number][] = [];
  for (const name of selectViews(deps.repo, req.views)) {
    out.push(await runView(deps, name, await incrementalStart(deps, name, req.end), req.end));
  }
  return { views: out };
}

/** One Map item of a plan: a run (by its place in `runs`) and one of its chunks. */
export interface ChunkTask {
  readonly run: number;
  readonly chunk: number;
}

/** A materialization planned for the state machine: the runs once, and the chunks to do as small items that point into them. */
export interface MaterializePlan {
  readonly runs: ViewRun[];
  readonly tasks: ChunkTask[];
  /** Views another run holds the lease of (scheduled plans only): left for the next schedule. */
  readonly busy: string[];
  /** Why nothing was planned, when that is not an error (no registry applied yet). */
  readonly skipped?: string;
}

/**
 * Plans a materialization for the state machine's Map: a run per view (its lease taken, its
 * window counted into chunks) and a flat list of chunk tasks, leaving out chunks an earlier
 * attempt finished. Each task names its run by index, so a run is not repeated per chunk.
 * Without `start`, each view's run is incremental from its watermark. Without `views` (the
 * schedule) every view is planned, and a view whose lease another run holds is listed in
 * `busy` instead of failing the plan; named views fail with the conflict.
 *
 * @example
 * const plan = await planMaterialization(deps, { end: Date.now() * 1000 });
 */
export async function planMaterialization(
  deps: MaterializeDeps,
  req: { views?: readonly string[]; start?: number; end: number },
): Promise<MaterializePlan> {
  const runs: ViewRun[] = [];
  const busy: string[] = [];
  const scheduled = !req.views?.length;
  for (const view of selectViews(deps.repo, req.views)) {
    const start = req.start ?? (await incrementalStart(deps, view, req.end));
    try {
      runs.push(await planViewRun(deps, view, start, req.end));
    } catch (err) {
      // A scheduled run leaves a view another run is still writing to the next schedule.
      if (!(scheduled && err instanceof ConflictError)) throw err;
      busy.push(view);
    }
  }
  const tasks = runs.flatMap((run, r) =>
    Array.from({ length: run.chunks }, (_, chunk) => ({ run: r, chunk })).filter(
      (t) => !run.done.includes(t.chunk),
    ),
  );
  return { runs, tasks, busy };
}

/** Where an incremental run of a view starts: its watermark, else end − TTL, else the epoch. */
export async function incrementalStart(
  deps: Pick<MaterializeDeps, 'repo' | 'table'>,
  viewName: string,
  end: number,
): Promise<number> {
  const view = viewOf(deps.repo, viewName);
  const state = await deps.table.getState(viewName);
  if (state.watermark !== undefined) return Math.min(state.watermark, end);
  return view.ttlSeconds > 0 ? end - view.ttlSeconds * 1e6 : 0;
}

async function runView(deps: MaterializeDeps, name: string, start: number, end: number) {
  const progress = deps.progress ?? (() => undefined);
  const run = await planViewRun(deps, name, start, end);
  const todo = Array.from({ length: run.chunks }, (_, i) => i).filter((i) => !run.done.includes(i));
  progress(
    `${name}: ${run.keys} entity key(s) in ${iso(start)} .. ${iso(end)}, ${run.chunks} chunk(s)${run.done.length ? `, ${run.done.length} already done` : ''}`,
  );
  let written = 0;
  let skipped = 0;
  let blind = 0;
  for (const i of todo) {
    const r = await materializeChunk(deps, run, i);
    written += r.written;
    skipped += r.skipped;
    blind += r.blind;
    progress(
      `${name}: chunk ${i + 1}/${run.chunks} done (${r.written} written, ${r.blind} of them without a version read, ${r.skipped} unchanged)`,
    );
  }
  await finishViewRun(deps, run);
  return {
    view: name,
    start: iso(start),
    end: iso(end),
    keys: run.keys,
    written,
    skipped,
    blind,
    chunks: run.chunks,
  };
}

function selectViews(repo: FeatureRepo, views: readonly string[] | undefined): string[] {
  const names = views && views.length > 0 ? [...views] : [...repo.views.keys()];
  for (const n of names) viewOf(repo, n);
  return names;
}

function viewOf(repo: FeatureRepo, name: string): ResolvedView {
  const v = repo.views.get(name);
  if (!v)
    throw new NotFoundError(
      `feature view '${name}' not found; known: ${[...repo.views.keys()].join(', ') || '(none)'}`,
    );
  return v;
}

function iso(micros: number): string {
  return new Date(micros / 1000).toISOString();
}
