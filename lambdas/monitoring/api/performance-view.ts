import type { Performance, PerformanceMetrics, VersionPerformance } from '../performance/performance';
import type { StoredPerformance } from '../performance/performance-store';
import type { ProxyMetrics } from '../performance/proxy';
import type {
  PerformanceMetrics as MetricsView,
  PerformanceResponse,
  PerformanceWindow,
  ProxyMetrics as ProxyView,
  VersionPerformance as VersionView,
} from './schemas';

const iso = (ms: number) => new Date(ms).toISOString();
const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function metrics(m: PerformanceMetrics | null): MetricsView | null {
  if (!m) return null;
  return {
    auc: num(m.auc),
    accuracy: num(m.accuracy),
    f1: num(m.f1),
    precision: num(m.precision),
    recall: num(m.recall),
    rmse: num(m.rmse),
    mae: num(m.mae),
  };
}

function windowView(p: Performance): PerformanceWindow {
  return {
    version: p.version,
    start: iso(p.from),
    end: iso(p.to),
    task: p.task,
    rows: p.rows,
    labelled_rows: p.labelledRows,
    labelled_share: p.coverage,
    invalid_labels: p.invalidLabels,
    metrics: metrics(p.metrics),
  };
}

function versionView(v: VersionPerformance): VersionView {
  return {
    ...windowView(v),
    training: v.training ? { metric: v.training.metric, value: v.training.value } : null,
    drop: num(v.drop),
    last_prediction: iso(v.lastPrediction),
  };
}

function proxyView(p: ProxyMetrics): ProxyView {
  return {
    experiment: p.experiment,
    version: p.version,
    arm: p.arm,
    start: iso(p.from),
    end: iso(p.to),
    outcomes: p.outcomes,
    conversions: p.conversions,
    conversion_rate: num(p.conversionRate),
    value_mean: num(p.valueMean),
  };
}

/** Newest window first (then by version, newest first), as the console lists them. */
const newestFirst = <T extends { from: number; version: string }>(a: T, b: T) =>
  b.from - a.from || Number(b.version) - Number(a.version) || (a.version < b.version ? 1 : -1);

/**
 * The performance job's latest run as the monitoring API answers it: windows newest first,
 * at most `limit` of them (and of the proxy windows), one version's when `version` is given.
 * Before the job ran: empty lists and null times.
 *
 * @example
 * const body = performanceResponse('churn', await readLatestPerformance(store, bucket, 'churn'), { limit: 50 });
 */
export function performanceResponse(
  model: string,
  run: StoredPerformance | undefined,
  options: { readonly version?: string; readonly limit: number },
): PerformanceResponse {
  if (!run) {
    return {
      model,
      generated_at: null,
      range: null,
      serving_version: null,
      windows: [],
      versions: [],
      proxy: null,
      skipped: [],
    };
  }
  const keep = (v: { version: string }) => options.version === undefined || v.version === options.version;
  const r = run.report;
  return {
    model,
    generated_at: run.generatedAt,
    range: { start: iso(r.from), end: iso(r.to) },
    serving_version: r.servingVersion,
    windows: r.windows.filter(keep).sort(newestFirst).slice(0, options.limit).map(windowView),
    versions: r.versions.filter(keep).map(versionView),
    proxy: run.proxy
      ? {
          windows: run.proxy.windows.filter(keep).sort(newestFirst).slice(0, options.limit).map(proxyView),
          versions: run.proxy.versions.filter(keep).map(proxyView),
        }
      : null,
    skipped: r.skipped.filter(keep).map((s) => ({ version: s.version, reason: s.reason, rows: s.rows })),
  };
}
