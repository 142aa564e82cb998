import type { LoggedPrediction, PredictionSink } from '../monitoring/log/record';
import { unsafeTextReason } from '../tracking/domain/validation';
import type { ExperimentStore, Exposure } from './store/experiment-store';

const ARMS = new Set(['control', 'treatment']);

/**
 * The exposures in a batch of prediction log lines: one per (experiment, unit), from the
 * successful lines that carry `experiment`, `arm` and `unit_id` (the predict function
 * writes them when a running experiment assigned the request's unit), earliest first.
 *
 * @example
 * exposuresOf(records); // [{ experiment: 'e1', unit: 'user-1', arm: 'treatment', at: 1733300000000 }]
 */
export function exposuresOf(records: readonly LoggedPrediction[]): Exposure[] {
  const byKey = new Map<string, Exposure>();
  for (const r of records) {
    if (r.status !== 200) continue;
    const { experiment, arm, unit_id: unit } = r.extra;
    if (typeof experiment !== 'string' || experiment === '') continue;
    if (typeof unit !== 'string' || unit === '' || typeof arm !== 'string' || !ARMS.has(arm)) continue;
    // A unit a key cannot hold would fail the whole batch at every redelivery; the predict
    // and outcomes routes refuse such a unit anyway.
    if (
      unit.length > 256 ||
      unsafeTextReason(unit) !== undefined ||
      unsafeTextReason(experiment) !== undefined
    )
      continue;
    const key = JSON.stringify([experiment, unit]);
    const seen = byKey.get(key);
    if (seen === undefined || r.timestamp < seen.at) {
      byKey.set(key, { experiment, unit, arm, at: r.timestamp });
    }
  }
  return [...byKey.values()];
}

/**
 * Records experiment exposures from the prediction log, off the request path: the log
 * shipper hands it each batch of lines. A unit counts as assigned in an experiment once it
 * was served there; each (experiment, unit) is written once by a conditional put, so a
 * redelivered batch, or a unit served a thousand times, records one exposure.
 *
 * @example
 * const sink = new ExposureSink(new DynamoExperimentStore(clients.dynamodb, env.EXPERIMENTS_TABLE));
 * await sink.write(records);
 */
export class ExposureSink implements PredictionSink {
  readonly name = 'experiment-exposures';

  constructor(private readonly store: Pick<ExperimentStore, 'recordExposures'>) {}

  async write(records: readonly LoggedPrediction[]): Promise<void> {
    const exposures = exposuresOf(records);
    if (exposures.length > 0) await this.store.recordExposures(exposures);
  }
}
