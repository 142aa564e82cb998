import { awsClients } from '../../platform/aws-clients';
import { ConflictError, InvalidParameterError, InvalidStateError } from '../../platform/errors';
import { logger } from '../../platform/observability';
import { DuckDbEngine } from '../duckdb-engine';
import { loadRegistryRepo } from '../registry-store';
import { DynamoOnlineTable } from './dynamo-online-table';
import {
  type ChunkResult,
  finishViewRun,
  incrementalStart,
  type MaterializeDeps,
  materializeChunk,
  planViewRun,
  type ViewRun,
} from './materialize';

/** The state machine's steps: plan every view's run, materialize one chunk, finish the runs. */
export type MaterializeEvent =
  | {
      readonly action: 'plan';
      readonly views?: string[];
      /** Window in epoch micros; without start, incremental from each view's watermark. */
      readonly start?: number;
      readonly end?: number;
      /** Entity keys per chunk (one Map iteration each). @default 50,000 */
      readonly chunkKeys?: number;
    }
  | { readonly action: 'chunk'; readonly run: ViewRun; readonly chunk: number }
  | { readonly action: 'finish'; readonly runs: ViewRun[] };

/** One Map item of the plan: a run (by its place in `runs`) and one of its chunks. */
export interface ChunkTask {
  readonly run: number;
  readonly chunk: number;
}

/** What `plan` returns: the runs once, and the chunks to do as small items that point into them. */
export interface MaterializePlan {
  readonly runs: ViewRun[];
  readonly tasks: ChunkTask[];
  readonly busy: string[];
  /** Why nothing was planned, when that is not an error (no registry applied yet). */
  readonly skipped?: string;
}

/** Before the first `features apply` there is nothing to materialize: the schedule succeeds doing nothing. */
export const NO_REGISTRY =
  'no feature registry yet (run `mlops features apply --repo <dir>` first): nothing to materialize';

let engine: Promise<DuckDbEngine> | undefined;

async function deps(): Promise<MaterializeDeps | undefined> {
  const store = awsClients().objectStore;
  const bucket = process.env.FEATURES_BUCKET ?? 'features';
  const repo = await loadRegistryRepo(store, bucket);
  if (!repo) return undefined;
  engine ??= DuckDbEngine.create({ threads: 2 });
  return {
    repo,
    engine: await engine,
    store,
    bucket,
    table: new DynamoOnlineTable(awsClients().dynamodb, process.env.ONLINE_TABLE ?? 'features-online'),
  };
}

/**
 * Step Functions task handler (LambdaInvoke, payload only). `plan` returns the runs and a flat
 * list of chunk tasks for the Map state (chunks an earlier attempt finished are left out),
 * each naming its run by index so the run is not repeated per chunk; `chunk` materializes
 * one; `finish` moves each view's watermark. Without `start`, runs are incremental from each
 * view's watermark; `end` defaults to now. Without `views` (the schedule), a view whose lease
 * another run holds is listed in `busy` and left for later. Before any registry is applied,
 * `plan` and `finish` succeed with nothing to do (and say so), so the schedule does not fail.
 */
export async function handler(event: MaterializeEvent): Promise<unknown> {
  const base = await deps();
  if (!base) {
    if (event.action === 'plan') {
      logger.info(NO_REGISTRY);
      return { runs: [], tasks: [], busy: [], skipped: NO_REGISTRY } satisfies MaterializePlan;
    }
    if (event.action === 'finish' && Array.isArray(event.runs) && event.runs.length === 0)
      return { finished: [], skipped: NO_REGISTRY };
    throw new InvalidStateError(NO_REGISTRY);
  }
  const d = event.action === 'plan' && event.chunkKeys ? { ...base, chunkKeys: event.chunkKeys } : base;
  if (event.action === 'plan') {
    const end = event.end ?? Date.now() * 1000;
    const runs: ViewRun[] = [];
    const busy: string[] = [];
    const scheduled = !event.views?.length;
    for (const view of scheduled ? [...d.repo.views.keys()] : (event.views ?? [])) {
      const start = event.start ?? (await incrementalStart(d, view, end));
      try {
        runs.push(await planViewRun(d, view, start, end));
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
    return { runs, tasks, busy } satisfies MaterializePlan;
  }
  if (event.action === 'chunk')
    return materializeChunk(d, event.run, event.chunk) satisfies Promise<ChunkResult>;
  if (event.action !== 'finish' || !Array.isArray(event.runs)) {
    throw new InvalidParameterError(
      `materialization step got ${JSON.stringify(event).slice(0, 200)}; expected {action: 'plan' | 'chunk' | 'finish', ...}`,
    );
  }
  for (const run of event.runs) await finishViewRun(d, run);
  return { finished: event.runs.map((r) => r.view) };
}
