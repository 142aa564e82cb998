import type { ObjectStore } from '../../platform/object-store';
import type { CategoricalScores, FeatureDrift, NumericScores } from '../drift/compare';
import type { VersionResult } from '../job/drift-job';
import { REPORTS_PREFIX } from '../job/report-keys';
import type { HistogramData } from '../report/histogram';
import type {
  DriftReportDetail,
  DriftReportSummary,
  DriftReportsResponse,
  FeatureScores,
  Histogram,
} from './schemas';

/** Reports read at once: S3 GETs in flight per request. */
const READ_CONCURRENCY = 16;

/** A stored report's key with the run time its name carries (`<time>.json`, see report-keys.ts). */
interface ReportKey {
  readonly key: string;
  readonly version: string;
  /** ISO 8601, from the key. */
  readonly at: string;
}

// `reports/model=<m>/version=<v>/2026-01-02T03-04-05-678Z.json`
const KEY = /\/version=([^/]+)\/(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z\.json$/;

function parseKey(key: string): ReportKey | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  return { key, version: decodeURIComponent(m[1]!), at: `${m[2]}T${m[3]}:${m[4]}:${m[5]}.${m[6]}Z` };
}

const finite = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** One column's scores as the API names them. */
export function featureScores(f: FeatureDrift): FeatureScores {
  const s = f.scores;
  const num = s && 'ks' in s ? (s as NumericScores) : undefined;
  const cat = s && 'chiSquare' in s ? (s as CategoricalScores) : undefined;
  return {
    name: f.name,
    kind: f.type,
    verdict: f.verdict,
    drifted: f.test.drifted,
    method: f.test.method,
    threshold: f.test.threshold,
    score: finite(f.test.score),
    psi: finite(s?.psi),
    ks_statistic: finite(num?.ks.statistic),
    ks_p_value: finite(num?.ks.pValue),
    wasserstein: finite(num?.wassersteinNormalized),
    wasserstein_raw: finite(num?.wasserstein),
    chi_square_statistic: finite(cat?.chiSquare.statistic),
    chi_square_p_value: finite(cat?.chiSquare.pValue),
    jensen_shannon: finite(cat?.jensenShannon),
    missing_rate_change: f.missingRateChange,
    baseline_missing_rate: f.baseline.missingRate,
    current_missing_rate: f.current.missingRate,
    baseline_count: f.baseline.count,
    current_count: f.current.count,
    unseen_share: cat ? cat.unseen.share : null,
    unseen_categories: cat ? cat.unseen.categories : [],
  };
}

/** A stored run's result as a report summary; undefined for a result without a comparison. */
export function reportSummary(r: VersionResult, at: string): DriftReportSummary | undefined {
  const report = r.report;
  if (!report || r.version === null) return undefined;
  return {
    version: r.version,
    generated_at: at,
    window: { start: r.window.from, end: r.window.to, rows: r.rows, failures: r.failures },
    verdict: report.summary.verdict,
    drifted_share: report.summary.driftedShare,
    drift_share_threshold: report.summary.driftShareThreshold,
    drifted: r.drifted,
    reasons: [...r.reasons],
    max_psi: finite(r.maxPsi),
    prediction_psi: finite(r.predictionPsi),
    features: report.features.map(featureScores),
    prediction: report.prediction ? featureScores(report.prediction) : null,
  };
}

function histogram(h: HistogramData): Histogram {
  return {
    name: h.name,
    kind: h.kind,
    labels: h.labels,
    edges: h.edges,
    baseline_share: h.baseline,
    current_share: h.current,
  };
}

/** A stored run's result in full: the summary, histograms and the hourly timeline. */
export function reportDetail(r: VersionResult, at: string): DriftReportDetail | undefined {
  const summary = reportSummary(r, at);
  if (!summary) return undefined;
  return {
    ...summary,
    baseline_rows: r.report!.baselineRows,
    histograms: r.histograms?.features.map(histogram) ?? [],
    prediction_histogram: r.histograms ? histogram(r.histograms.prediction) : null,
    timeline: r.timeline.map((p) => ({ hour: p.hour, count: p.count, mean: finite(p.mean) })),
  };
}

/**
 * The drift job's reports of a model (or one version), newest first, at most `limit`, with
 * the newest in full. Reads the report objects under `reports/model=<m>/` of the monitoring
 * bucket (lambdas/monitoring/job/report-keys.ts); a report that cannot be read or parsed is
 * left out rather than failing the answer.
 *
 * @example
 * const { reports, latest } = await readDriftReports(store, bucket, 'churn', { limit: 50 });
 */
export async function readDriftReports(
  store: ObjectStore,
  bucket: string,
  model: string,
  options: { readonly version?: string; readonly limit: number },
): Promise<DriftReportsResponse> {
  const m = encodeURIComponent(model);
  const prefix =
    options.version === undefined
      ? `${REPORTS_PREFIX}/model=${m}/version=`
      : `${REPORTS_PREFIX}/model=${m}/version=${encodeURIComponent(options.version)}/`;
  const keys = (await store.list(bucket, prefix))
    .map((o) => parseKey(o.key))
    .filter((k): k is ReportKey => k !== undefined)
    // Newest first; the time in the name sorts as text.
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.key < b.key ? 1 : -1));
  const reports: DriftReportSummary[] = [];
  let latest: DriftReportDetail | null = null;
  // Read in batches until `limit` readable reports are found (a corrupt one is skipped).
  for (let i = 0; i < keys.length && reports.length < options.limit; i += READ_CONCURRENCY) {
    const batch = keys.slice(i, i + READ_CONCURRENCY);
    const read = await Promise.all(batch.map((k) => readResult(store, bucket, k.key)));
    for (let j = 0; j < batch.length && reports.length < options.limit; j++) {
      const r = read[j];
      if (!r) continue;
      const at = batch[j]!.at;
      const summary = reportSummary(r, at);
      if (!summary) continue;
      if (!latest) latest = reportDetail(r, at) ?? null;
      reports.push(summary);
    }
  }
  return { model, reports, latest };
}

async function readResult(
  store: ObjectStore,
  bucket: string,
  key: string,
): Promise<VersionResult | undefined> {
  const bytes = await store.get(bucket, key);
  if (!bytes) return undefined;
  try {
    const r = JSON.parse(Buffer.from(bytes).toString('utf8')) as VersionResult;
    return r && typeof r === 'object' && r.report && Array.isArray(r.report.features) ? r : undefined;
  } catch {
    return undefined;
  }
}
