import type { ObjectStore } from '../../platform/object-store';
import type { PerformanceReport } from './performance';
import type { ProxyReport } from './proxy';

/** Prefix of the performance job's results in the monitoring bucket. */
export const PERFORMANCE_PREFIX = 'performance';

/** What one run of the performance job found, as stored for the monitoring API. */
export interface StoredPerformance {
  /** When the run finished (ISO 8601). */
  readonly generatedAt: string;
  readonly report: PerformanceReport;
  /** Proxy metrics from experiment outcomes; null when the job reads no experiments. */
  readonly proxy: ProxyReport | null;
}

/** Where the latest run of a model is kept: `performance/model=<m>/latest.json`. */
export function latestPerformanceKey(model: string): string {
  return `${PERFORMANCE_PREFIX}/model=${encodeURIComponent(model)}/latest.json`;
}

/**
 * Stores a run as the model's latest. Each run scores the whole lookback again (labels
 * arrive late), so the latest run holds every window there is to show.
 *
 * @example
 * await writeLatestPerformance(store, bucket, { generatedAt: new Date().toISOString(), report, proxy });
 */
export async function writeLatestPerformance(
  store: ObjectStore,
  bucket: string,
  run: StoredPerformance,
): Promise<void> {
  await store.put(bucket, latestPerformanceKey(run.report.model), `${JSON.stringify(run)}\n`, {
    contentType: 'application/json',
  });
}

/** The model's latest run, or undefined before the job ran (or when the object is unreadable). */
export async function readLatestPerformance(
  store: ObjectStore,
  bucket: string,
  model: string,
): Promise<StoredPerformance | undefined> {
  const bytes = await store.get(bucket, latestPerformanceKey(model));
  if (!bytes) return undefined;
  try {
    const run = JSON.parse(Buffer.from(bytes).toString('utf8')) as StoredPerformance;
    return run?.report && Array.isArray(run.report.windows) ? run : undefined;
  } catch {
    return undefined;
  }
}
