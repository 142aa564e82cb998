import type { DriftReport, FeatureDrift } from '../drift/compare';

/** Metric namespace of the drift job. */
export const MONITORING_NAMESPACE = 'ServerlessMlops/Monitoring';

/** Per model (what the alarms watch, whichever version serves) and per model version. */
const VERSION_DIMENSIONS = [['model'], ['model', 'version']];

interface Metric {
  readonly name: string;
  readonly value: number;
}

function emf(now: number, dimensions: string[][], fields: Record<string, string>, metrics: Metric[]): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: MONITORING_NAMESPACE,
          Dimensions: dimensions,
          Metrics: metrics.map((m) => ({ Name: m.name, Unit: 'None' })),
        },
      ],
    },
    ...fields,
    ...Object.fromEntries(metrics.map((m) => [m.name, m.value])),
  });
}

function featureMetrics(f: FeatureDrift): Metric[] {
  const out: Metric[] = [{ name: 'MissingRateChange', value: f.missingRateChange }];
  const s = f.scores;
  if (!s) return out;
  out.push({ name: 'Psi', value: s.psi });
  if ('ks' in s) {
    out.push({ name: 'KsStatistic', value: s.ks.statistic }, { name: 'KsPValue', value: s.ks.pValue });
    out.push({ name: 'Wasserstein', value: s.wassersteinNormalized });
  } else {
    out.push(
      { name: 'JensenShannon', value: s.jensenShannon },
      { name: 'ChiSquarePValue', value: s.chiSquare.pValue },
    );
    out.push({ name: 'UnseenShare', value: s.unseen.share });
  }
  out.push({ name: 'Drifted', value: f.test.drifted ? 1 : 0 });
  return out.filter((m) => Number.isFinite(m.value));
}

/**
 * The drift job's CloudWatch metrics as embedded-metric-format lines (namespace
 * `ServerlessMlops/Monitoring`): per model and per model version `WindowRows` always, and,
 * when the run has a verdict, `DriftedShare`, `MaxPsi` (largest PSI of a judged feature),
 * `PredictionPsi` and `PredictionMean`; per model, version and feature the scores of each
 * judged feature. Nothing that needs a verdict is emitted without one, so a quiet hour never
 * moves an alarm.
 *
 * @example
 * for (const line of driftMetricLines('churn', '3', report, { maxPsi: 0.3, predictionPsi: 0.01, now })) console.log(line);
 */
export function driftMetricLines(
  model: string,
  version: string,
  report: DriftReport,
  extra: { maxPsi: number | null; predictionPsi: number | null; now: number },
): string[] {
  const summary: Metric[] = [{ name: 'WindowRows', value: report.currentRows }];
  if (report.summary.driftedShare !== null)
    summary.push({ name: 'DriftedShare', value: report.summary.driftedShare });
  if (extra.maxPsi !== null) summary.push({ name: 'MaxPsi', value: extra.maxPsi });
  if (extra.predictionPsi !== null) {
    summary.push({ name: 'PredictionPsi', value: extra.predictionPsi });
    const mean = report.prediction?.current.mean;
    if (mean !== undefined && Number.isFinite(mean)) summary.push({ name: 'PredictionMean', value: mean });
  }
  const lines = [emf(extra.now, VERSION_DIMENSIONS, { model, version }, summary)];
  for (const f of report.features) {
    if (f.test.drifted === null) continue;
    lines.push(
      emf(
        extra.now,
        [['model', 'version', 'feature']],
        { model, version, feature: f.name },
        featureMetrics(f),
      ),
    );
  }
  return lines;
}
