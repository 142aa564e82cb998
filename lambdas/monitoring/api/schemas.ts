import { z } from 'zod';

/**
 * Response schemas of the monitoring read routes (GET /v1/models/{name}/monitoring/...).
 * The console codes against these types: change them additively only. Times are ISO 8601
 * strings; shares are in [0, 1]; a score that does not apply (a KS statistic of a categorical
 * feature) or could not be computed (no values on one side) is null.
 */

export const VerdictSchema = z.enum(['drift', 'no_drift', 'insufficient_data']);
export type Verdict = z.infer<typeof VerdictSchema>;

/** One column's drift scores (a feature, or the model's prediction). */
export const FeatureScoresSchema = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  verdict: VerdictSchema,
  /** The column's test said drift; null without enough samples (verdict insufficient_data). */
  drifted: z.boolean().nullable(),
  /** The test that judged the column: ks, wasserstein, psi, chisquare or jensenshannon. */
  method: z.string(),
  threshold: z.number(),
  /** The judging test's score (a p-value for ks and chisquare: drift when below the threshold). */
  score: z.number().nullable(),
  /** Population stability index on the baseline's quantile bins (categories for categorical). */
  psi: z.number().nullable(),
  ks_statistic: z.number().nullable(),
  ks_p_value: z.number().nullable(),
  /** Wasserstein distance divided by the baseline's standard deviation (what the test judges). */
  wasserstein: z.number().nullable(),
  /** Wasserstein distance in the feature's own units. */
  wasserstein_raw: z.number().nullable(),
  chi_square_statistic: z.number().nullable(),
  chi_square_p_value: z.number().nullable(),
  jensen_shannon: z.number().nullable(),
  /** Current missing rate minus the baseline's. */
  missing_rate_change: z.number(),
  baseline_missing_rate: z.number(),
  current_missing_rate: z.number(),
  /** Non-missing values on each side. */
  baseline_count: z.number(),
  current_count: z.number(),
  /** Categorical: share of current values in categories the baseline never had. */
  unseen_share: z.number().nullable(),
  /** Categorical: the most frequent unseen categories (at most 20). */
  unseen_categories: z.array(z.string()),
});
export type FeatureScores = z.infer<typeof FeatureScoresSchema>;

/** One drift job run's report of one model version. */
export const DriftReportSummarySchema = z.object({
  version: z.string(),
  generated_at: z.string(),
  window: z.object({
    start: z.string(),
    end: z.string(),
    /** Successful predictions in the window (failed requests excluded). */
    rows: z.number(),
    failures: z.number(),
  }),
  /** The dataset's verdict: drifted_share against the drift-share threshold. */
  verdict: VerdictSchema,
  /** Drifted features among those judged; null when none could be judged. */
  drifted_share: z.number().nullable(),
  drift_share_threshold: z.number(),
  /** The version drifted by the alarms' rules (the verdict, or a PSI above alarms.driftPsi). */
  drifted: z.boolean(),
  /** Why it drifted, in words ("psi(age)=0.41 > 0.2"); empty when it did not. */
  reasons: z.array(z.string()),
  max_psi: z.number().nullable(),
  prediction_psi: z.number().nullable(),
  features: z.array(FeatureScoresSchema),
  prediction: FeatureScoresSchema.nullable(),
});
export type DriftReportSummary = z.infer<typeof DriftReportSummarySchema>;

/**
 * Baseline against current distribution of one column. Numeric: equal-width bins over both
 * sides' range, `edges` one longer than the shares and `labels` the bins' lower edges.
 * Categorical: the most frequent categories, the rest summed in `__other__`, `edges` null.
 * Shares are of non-missing values (each side sums to 1 when it has any).
 */
export const HistogramSchema = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  labels: z.array(z.string()),
  edges: z.array(z.number()).nullable(),
  baseline_share: z.array(z.number()),
  current_share: z.array(z.number()),
});
export type Histogram = z.infer<typeof HistogramSchema>;

/** The latest report in full: the summary plus the distributions and the hourly prediction mean. */
export const DriftReportDetailSchema = DriftReportSummarySchema.extend({
  /** Rows of the baseline profile (the version's test set at training). */
  baseline_rows: z.number(),
  /** Per feature; empty for a report written before the job stored histograms. */
  histograms: z.array(HistogramSchema),
  /** The prediction's distribution; null for a report written before the job stored histograms. */
  prediction_histogram: HistogramSchema.nullable(),
  /** Predictions per hour of the window and their mean (null in an hour without any). */
  timeline: z.array(z.object({ hour: z.string(), count: z.number(), mean: z.number().nullable() })),
});
export type DriftReportDetail = z.infer<typeof DriftReportDetailSchema>;

/** GET /v1/models/{name}/monitoring/drift */
export const DriftReportsResponseSchema = z.object({
  model: z.string(),
  /** Newest first, at most `limit`. */
  reports: z.array(DriftReportSummarySchema),
  /** The newest report (of `version` when given) in full; null before the job ran. */
  latest: DriftReportDetailSchema.nullable(),
});
export type DriftReportsResponse = z.infer<typeof DriftReportsResponseSchema>;

/** Metrics from delayed labels: AUC, accuracy, F1, precision and recall (binary) or RMSE and MAE (regression). */
export const PerformanceMetricsSchema = z.object({
  /** Null when the labels hold one class only. */
  auc: z.number().nullable(),
  accuracy: z.number().nullable(),
  f1: z.number().nullable(),
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  rmse: z.number().nullable(),
  mae: z.number().nullable(),
});
export type PerformanceMetrics = z.infer<typeof PerformanceMetricsSchema>;

/** One version's performance over one window, by prediction time. */
export const PerformanceWindowSchema = z.object({
  version: z.string(),
  start: z.string(),
  end: z.string(),
  task: z.enum(['binary', 'regression']),
  /** Predictions answered in the window. */
  rows: z.number(),
  labelled_rows: z.number(),
  /** labelled_rows / rows. */
  labelled_share: z.number(),
  invalid_labels: z.number(),
  /** Null below the job's minimum of labelled rows (no verdict rather than a noisy one). */
  metrics: PerformanceMetricsSchema.nullable(),
});
export type PerformanceWindow = z.infer<typeof PerformanceWindowSchema>;

/** One version over the job's whole range, against its training evaluation. */
export const VersionPerformanceSchema = PerformanceWindowSchema.extend({
  /** The version's test metric at training (test_auc or test_rmse). */
  training: z.object({ metric: z.string(), value: z.number() }).nullable(),
  /** Relative drop of the primary metric (AUC, or RMSE's rise) from training; null without both. */
  drop: z.number().nullable(),
  last_prediction: z.string(),
});
export type VersionPerformance = z.infer<typeof VersionPerformanceSchema>;

/** Proxy metrics: one experiment arm's outcomes over a window (or the whole range). */
export const ProxyMetricsSchema = z.object({
  experiment: z.string(),
  version: z.string(),
  arm: z.enum(['control', 'treatment']),
  start: z.string(),
  end: z.string(),
  outcomes: z.number(),
  conversions: z.number(),
  conversion_rate: z.number().nullable(),
  value_mean: z.number().nullable(),
});
export type ProxyMetrics = z.infer<typeof ProxyMetricsSchema>;

/** GET /v1/models/{name}/monitoring/performance: the performance job's latest run. */
export const PerformanceResponseSchema = z.object({
  model: z.string(),
  /** When the latest run finished; null (and empty lists) before the job ran. */
  generated_at: z.string().nullable(),
  /** The prediction time range the run scored (its lookback). */
  range: z.object({ start: z.string(), end: z.string() }).nullable(),
  /** The version that answered the range's latest prediction. */
  serving_version: z.string().nullable(),
  /** Per version and window, newest window first, at most `limit`. */
  windows: z.array(PerformanceWindowSchema),
  /** Per version over the whole range. */
  versions: z.array(VersionPerformanceSchema),
  /** From the model's A/B experiments' outcomes; null when the job reads no experiments. */
  proxy: z
    .object({
      /** Newest window first, at most `limit`. */
      windows: z.array(ProxyMetricsSchema),
      versions: z.array(ProxyMetricsSchema),
    })
    .nullable(),
  /** Versions the run left out, and why. */
  skipped: z.array(z.object({ version: z.string(), reason: z.string(), rows: z.number() })),
});
export type PerformanceResponse = z.infer<typeof PerformanceResponseSchema>;

/** One period of one version's request metrics. */
export const MetricPointSchema = z.object({
  /** Start of the period. */
  timestamp: z.string(),
  /** Requests answered (successes and failures). */
  requests: z.number(),
  /** Server errors (5xx). */
  errors: z.number(),
  /** Requests refused for the caller's mistake (4xx); not errors. */
  rejected: z.number(),
  /** errors / requests; null without requests. */
  error_rate: z.number().nullable(),
  /** Latency of successful requests; null without any. */
  latency_p50_ms: z.number().nullable(),
  latency_p99_ms: z.number().nullable(),
});
export type MetricPoint = z.infer<typeof MetricPointSchema>;

/** GET /v1/models/{name}/monitoring/metrics: request metrics from CloudWatch per version. */
export const RequestMetricsResponseSchema = z.object({
  model: z.string(),
  start: z.string(),
  end: z.string(),
  minutes: z.number(),
  /** Seconds per point. */
  period: z.number(),
  /** Versions with requests in the range, newest version first; points oldest first, periods without requests left out. */
  series: z.array(z.object({ version: z.string(), points: z.array(MetricPointSchema) })),
});
export type RequestMetricsResponse = z.infer<typeof RequestMetricsResponseSchema>;
