// Types only: the route's zod schemas are the one definition; nothing of the server is bundled.
import type {
  DriftReportsResponse,
  PerformanceResponse,
  RequestMetricsResponse,
} from '../../../lambdas/monitoring/api/schemas';
import { api, seg } from './http';

export type {
  DriftReportDetail,
  DriftReportSummary,
  DriftReportsResponse,
  FeatureScores,
  Histogram,
  MetricPoint,
  PerformanceMetrics,
  PerformanceResponse,
  PerformanceWindow,
  RequestMetricsResponse,
  VersionPerformance,
} from '../../../lambdas/monitoring/api/schemas';

/** The drift job's reports of a model (of one version when given), newest first, and the latest in full. */
export function driftReports(
  model: string,
  options: { version?: string; limit?: number } = {},
): Promise<DriftReportsResponse> {
  return api(`/v1/models/${seg(model)}/monitoring/drift`, {
    query: { version: options.version, limit: options.limit?.toString() },
  });
}

/** The performance job's latest run: metrics from delayed labels per version and window. */
export function performance(
  model: string,
  options: { version?: string; limit?: number } = {},
): Promise<PerformanceResponse> {
  return api(`/v1/models/${seg(model)}/monitoring/performance`, {
    query: { version: options.version, limit: options.limit?.toString() },
  });
}

/** Request count, error rate and latency percentiles per period and version. */
export function requestMetrics(model: string, minutes = 60, period = 60): Promise<RequestMetricsResponse> {
  return api(`/v1/models/${seg(model)}/monitoring/metrics`, {
    query: { minutes: String(minutes), period: String(period) },
  });
}
