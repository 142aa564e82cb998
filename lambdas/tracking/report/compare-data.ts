import { InvalidParameterError } from '../../platform/errors';
import type { TrackingClient } from '../client/tracking-client';
import type { Metric, Run } from '../client/types';

/** A run as the compare page needs it: its record plus every metric's full history. */
export interface ComparedRun {
  run: Run;
  /** Metric key → all points, in step order. */
  history: Record<string, Metric[]>;
}

/** MLflow's run id shape; checked before any request so a typo names itself. */
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;

/**
 * Reads the runs to compare and each of their metrics' histories. Ids are checked and
 * de-duplicated first; a run the API does not know fails with the API's message.
 *
 * @example
 * const runs = await loadComparison(tracking, ['a1b2...', 'c3d4...']);
 */
export async function loadComparison(tracking: TrackingClient, runIds: string[]): Promise<ComparedRun[]> {
  const ids = [...new Set(runIds)];
  if (ids.length === 0) throw new InvalidParameterError('give at least one run id to compare');
  for (const id of ids)
    if (!RUN_ID.test(id))
      throw new InvalidParameterError(`'${id}' is not a run id: run ids are letters, digits, '_' and '-'`);
  const runs = await Promise.all(ids.map((id) => tracking.getRun(id)));
  return Promise.all(
    runs.map(async (run) => {
      const keys = run.data.metrics.map((m) => m.key);
      const lists = await Promise.all(keys.map((k) => tracking.getMetricHistory(run.info.run_id, k)));
      return { run, history: Object.fromEntries(keys.map((k, i) => [k, lists[i] ?? []])) };
    }),
  );
}
