import { z } from 'zod';
import { awsClients } from '../../platform/aws-clients';
import { baseConfigSchema, loadConfig } from '../../platform/config';
import { InvalidParameterError, InvalidStateError } from '../../platform/errors';
import { logger } from '../../platform/observability';
import { loadRegistryRepo } from '../definitions/feature-registry-store';
import { DuckDbEngine } from '../offline/duckdb-engine';
import { DynamoOnlineTable } from './dynamo-online-table';
import {
  type ChunkResult,
  finishViewRun,
  type MaterializeDeps,
  type MaterializePlan,
  materializeChunk,
  planMaterialization,
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

/** Before the first `features apply` there is nothing to materialize: the schedule succeeds doing nothing. */
export const NO_REGISTRY =
  'no feature registry yet (run `mlops features apply --repo <dir>` first): nothing to materialize';

// Composition root: configuration once at cold start; the engine and table built once.
const config = loadConfig(
  baseConfigSchema.extend({ FEATURES_BUCKET: z.string().min(1), ONLINE_TABLE: z.string().min(1) }),
);
let engine: Promise<DuckDbEngine> | undefined;

/** The domain's dependencies, or undefined before any registry is applied (read per invocation: an apply is seen at once). */
async function deps(): Promise<MaterializeDeps | undefined> {
  const store = awsClients().objectStore;
  const repo = await loadRegistryRepo(store, config.FEATURES_BUCKET);
  if (!repo) return undefined;
  engine ??= DuckDbEngine.create({ threads: 2 });
  return {
    repo,
    engine: await engine,
    store,
    bucket: config.FEATURES_BUCKET,
    table: new DynamoOnlineTable(awsClients().dynamodb, config.ONLINE_TABLE),
  };
}

/**
 * Step Functions task handler (LambdaInvoke, payload only): `plan` returns the plan of
 * `planMaterialization` (window end defaults to now), `chunk` materializes one chunk,
 * `finish` moves each view's watermark. Before any registry is applied, `plan` and `finish`
 * succeed with nothing to do (and say so), so the schedule does not fail.
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
  if (event.action === 'plan') {
    const d = event.chunkKeys ? { ...base, chunkKeys: event.chunkKeys } : base;
    return planMaterialization(d, {
      ...(event.views ? { views: event.views } : {}),
      ...(event.start !== undefined ? { start: event.start } : {}),
      end: event.end ?? Date.now() * 1000,
    }) satisfies Promise<MaterializePlan>;
  }
  if (event.action === 'chunk')
    return materializeChunk(base, event.run, event.chunk) satisfies Promise<ChunkResult>;
  if (event.action !== 'finish' || !Array.isArray(event.runs)) {
    throw new InvalidParameterError(
      `materialization step got ${JSON.stringify(event).slice(0, 200)}; expected {action: 'plan' | 'chunk' | 'finish', ...}`,
    );
  }
  for (const run of event.runs) await finishViewRun(base, run);
  return { finished: event.runs.map((r) => r.view) };
}
