import { awsClients } from '../../platform/aws-clients';
import { ConflictError, InvalidParameterError, InvalidStateError } from '../../platform/errors';
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

let engine: Promise<DuckDbEngine> | undefined;

async function deps(): Promise<MaterializeDeps> {
  const store = awsClients().objectStore;
  const bucket = process.env.FEATURES_BUCKET ?? 'features';
  const repo = await loadRegistryRepo(store, bucket);
  if (!repo) throw new InvalidStateError('no feature registry yet: nothing to materialize');
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
 * list of chunk tasks for the Map state (chunks an earlier attempt finished are left out);
 * `chunk` materializes one; `finish` moves each view's watermark. Without `start`, runs are
 * incremental from each view's watermark; `end` defaults to now. Without `views` (the
 * schedule), a view whose lease another run holds is listed in `busy` and left for later.
 */
export async function handler(event: MaterializeEvent): Promise<unknown> {
  const base = await deps();
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
    const tasks = runs.flatMap((run) =>
      Array.from({ length: run.chunks }, (_, chunk) => ({ action: 'chunk' as const, run, chunk })).filter(
        (t) => !run.done.includes(t.chunk),
      ),
    );
    return { runs, tasks, busy };
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
