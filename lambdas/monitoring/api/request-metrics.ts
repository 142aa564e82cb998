import { InvalidParameterError } from '../../platform/errors';
import { SERVING_NAMESPACE } from '../../serving/domain/prediction-log';
import type { MetricPoint, RequestMetricsResponse } from './schemas';

/** One statistic of one metric, as GetMetricData's MetricStat names it. */
export interface MetricStatQuery {
  /** Unique in the call: lower-case letter first, as CloudWatch requires. */
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** `SampleCount`, `Sum`, `Average`, `p99`... */
  readonly stat: string;
}

/** The port to the metrics store: CloudWatch's GetMetricData (the local runtime answers it too). */
export interface MetricsReader {
  /**
   * Each query's datapoints in [start, end), one per period with data: epoch ms of the
   * period's start → value.
   */
  read(
    queries: readonly MetricStatQuery[],
    range: { readonly start: number; readonly end: number; readonly periodSeconds: number },
  ): Promise<Map<string, Map<number, number>>>;
}

/** Versions read when none is named: the newest ones (5 metric queries each). */
export const MAX_VERSIONS = 20;
/** Points per series: minutes × 60 / period may not exceed this. */
export const MAX_POINTS = 1440;

/**
 * The serving function's request metrics per version (lambdas/serving/domain/prediction-log.ts
 * emits them as EMF with dimensions model and version): every request writes one
 * `PredictErrors` (1 for a server error, else 0), so its sample count is the request count and
 * its sum the errors; `PredictRejected` counts caller mistakes; `PredictLatency` is each
 * successful request's latency.
 */
const STATS = [
  { key: 'requests', metric: 'PredictErrors', stat: 'SampleCount' },
  { key: 'errors', metric: 'PredictErrors', stat: 'Sum' },
  { key: 'rejected', metric: 'PredictRejected', stat: 'Sum' },
  { key: 'p50', metric: 'PredictLatency', stat: 'p50' },
  { key: 'p99', metric: 'PredictLatency', stat: 'p99' },
] as const;

export interface RequestMetricsOptions {
  readonly model: string;
  /** Versions to read, newest first. */
  readonly versions: readonly string[];
  readonly minutes: number;
  readonly periodSeconds: number;
  readonly now: number;
}

/**
 * Request count, error rate and latency p50/p99 per period and version over the last
 * `minutes`, periods aligned to `periodSeconds` as CloudWatch aligns them. Versions without a
 * request in the range are left out; so are periods without one.
 *
 * @example
 * const body = await requestMetrics(reader, { model: 'churn', versions: ['3', '2'], minutes: 60, periodSeconds: 60, now: Date.now() });
 */
export async function requestMetrics(
  reader: MetricsReader,
  o: RequestMetricsOptions,
): Promise<RequestMetricsResponse> {
  const points = Math.ceil((o.minutes * 60) / o.periodSeconds);
  if (points > MAX_POINTS) {
    throw new InvalidParameterError(
      `minutes=${o.minutes} with period=${o.periodSeconds} asks for ${points} points per version; at most ${MAX_POINTS}: raise period or lower minutes`,
    );
  }
  const period = o.periodSeconds * 1000;
  const end = Math.ceil((o.now + 1) / period) * period;
  const start = Math.floor((o.now - o.minutes * 60_000) / period) * period;
  const queries = o.versions.flatMap((version, i) =>
    STATS.map((s) => ({
      id: `${s.key}${i}`,
      namespace: SERVING_NAMESPACE,
      metricName: s.metric,
      dimensions: { model: o.model, version },
      stat: s.stat,
    })),
  );
  const data = queries.length
    ? await reader.read(queries, { start, end, periodSeconds: o.periodSeconds })
    : new Map<string, Map<number, number>>();
  const series: RequestMetricsResponse['series'] = [];
  o.versions.forEach((version, i) => {
    const of = (key: string) => data.get(`${key}${i}`) ?? new Map<number, number>();
    const requests = of('requests');
    const times = [...requests.keys()].filter((t) => (requests.get(t) ?? 0) > 0).sort((a, b) => a - b);
    if (!times.length) return;
    const errors = of('errors');
    const rejected = of('rejected');
    const p50 = of('p50');
    const p99 = of('p99');
    series.push({
      version,
      points: times.map((t): MetricPoint => {
        const n = requests.get(t)!;
        const e = errors.get(t) ?? 0;
        return {
          timestamp: new Date(t).toISOString(),
          requests: n,
          errors: e,
          rejected: rejected.get(t) ?? 0,
          error_rate: e / n,
          latency_p50_ms: p50.get(t) ?? null,
          latency_p99_ms: p99.get(t) ?? null,
        };
      }),
    });
  });
  return {
    model: o.model,
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    minutes: o.minutes,
    period: o.periodSeconds,
    series,
  };
}
