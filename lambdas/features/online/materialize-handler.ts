import { awsClients } from '../../platform/aws-clients';
import { InvalidStateError } from '../../platform/errors';
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
  | { readonly action: 'plan'; readonly views?: string[]; readonly start?: number; readonly end?: number }
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
 * incremental from each view's watermark; `end` defaults to now.
 */
export async function handler(event: MaterializeEvent): Promise<unknown> {
  const d = await deps();
  if (event.action === 'plan') {
    const end = event.end ?? Date.now() * 1000;
    const runs: ViewRun[] = [];
    for (const view of event.views?.length ? event.views : [...d.repo.views.keys()]) {
      const start = event.start ?? (await incrementalStart(d, view, end));
      runs.push(await planViewRun(d, view, start, end));
    }
    const tasks = runs.flatMap((run) =>
      Array.from({ length: run.chunks }, (_, chunk) => ({ action: 'chunk' as const, run, chunk })).filter(
        (t) => !run.done.includes(t.chunk),
      ),
    );
    return { runs, tasks };
  }
  if (event.action === 'chunk')
    return materializeChunk(d, event.run, event.chunk) satisfies Promise<ChunkResult>;
  for (const run of event.runs) await finishViewRun(d, run);
  return { finished: event.runs.map((r) => r.view) };
}
