import { auc, binaryMetrics, regressionMetrics } from '../../training/evaluation/metrics';
import { MONITORING_NAMESPACE } from '../job/metrics';
import type { PredictionSource } from '../labels/prediction-index';

/** Decision threshold of the binary metrics (accuracy, F1): P(y = 1) >= 0.5 predicts 1, as training evaluates. */
export const DECISION_THRESHOLD = 0.5;
// One namespace for the drift and performance metrics, defined with the drift job's.
export { MONITORING_NAMESPACE };

export type Task = 'binary' | 'regression';

/** What the job needs to know of a model version: its task and its metric at training time. */
export interface VersionInfo {
  readonly task: Task;
  /** The version's evaluation on its test set (`test_auc` or `test_rmse` of its run). */
  readonly training?: { readonly metric: string; readonly value: number };
}

export interface PerformanceOptions {
  readonly model: string;
  /** Prediction time range [from, to), epoch ms: labels are joined to when the prediction was made. */
  readonly from: number;
  readonly to: number;
  /** Length of each window inside the range. */
  readonly windowMs: number;
  /** Fewer labelled rows than this gives no metrics (no verdict), only the coverage. */
  readonly minLabels: number;
}

export interface PerformanceMetrics {
  /** Binary: null when the labels hold one class only (AUC is undefined). */
  readonly auc?: number | null;
  readonly accuracy?: number;
  readonly f1?: number;
  readonly precision?: number;
  readonly recall?: number;
  readonly rmse?: number;
  readonly mae?: number;
}

/** One version's performance over one window (or the whole range). */
export interface Performance {
  readonly version: string;
  readonly from: number;
  readonly to: number;
  readonly task: Task;
  /** Rows predicted (answered 200) in the window. */
  readonly rows: number;
  /** Rows with a usable label. */
  readonly labelledRows: number;
  /** labelledRows / rows. */
  readonly coverage: number;
  /** Labels unusable for the task (a binary label other than 0/1, a non-finite value). */
  readonly invalidLabels: number;
  /** null below `minLabels` labelled rows: no verdict rather than a noisy one. */
  readonly metrics: PerformanceMetrics | null;
}

export interface VersionPerformance extends Performance {
  readonly training: VersionInfo['training'] | null;
  /**
   * Relative drop of the primary metric from training: (train − live) / train for AUC,
   * (live − train) / train for RMSE; null without metrics or a training value.
   */
  readonly drop: number | null;
  /** Time of the version's latest prediction in the range. */
  readonly lastPrediction: number;
}

export interface PerformanceReport {
  readonly model: string;
  readonly from: number;
  readonly to: number;
  readonly windows: Performance[];
  readonly versions: VersionPerformance[];
  /** The version that answered the range's latest prediction (what serves now). */
  readonly servingVersion: string | null;
  /** Versions left out, and why (deleted from the registry, no readable signature). */
  readonly skipped: readonly { readonly version: string; readonly reason: string; readonly rows: number }[];
}

class Accumulator {
  rows = 0;
  invalid = 0;
  readonly predictions: number[] = [];
  readonly labels: number[] = [];
  last = 0;

  constructor(
    readonly version: string,
    readonly from: number,
    readonly to: number,
  ) {}

  result(task: Task, minLabels: number): Performance {
    const n = this.labels.length;
    return {
      version: this.version,
      from: this.from,
      to: this.to,
      task,
      rows: this.rows,
      labelledRows: n,
      coverage: this.rows ? n / this.rows : 0,
      invalidLabels: this.invalid,
      metrics: n >= minLabels && n > 0 ? metricsOf(task, this.labels, this.predictions) : null,
    };
  }
}

/**
 * The metrics of one window: AUC, accuracy, F1, precision and recall at the 0.5 threshold
 * for a binary classifier; RMSE and MAE for a regressor. The functions training evaluates
 * with (lambdas/training/evaluation/metrics.ts), so production and test numbers compare.
 */
export function metricsOf(
  task: Task,
  labels: readonly number[],
  predictions: readonly number[],
): PerformanceMetrics {
  if (task === 'regression') {
    const m = regressionMetrics(labels, predictions);
    return { rmse: m.rmse, mae: m.mae };
  }
  const m = binaryMetrics(labels, predictions, DECISION_THRESHOLD);
  const a = auc(labels, predictions);
  return {
    auc: Number.isNaN(a) ? null : a,
    accuracy: m.accuracy,
    f1: m.f1,
    precision: m.precision,
    recall: m.recall,
  };
}

/** The relative drop of the primary metric (AUC or RMSE) from its training value. */
export function performanceDrop(
  task: Task,
  metrics: PerformanceMetrics | null,
  training: VersionInfo['training'] | null,
) {
  if (!metrics || !training || training.value === 0) return null;
  if (task === 'binary') {
    if (metrics.auc === null || metrics.auc === undefined) return null;
    return (training.value - metrics.auc) / training.value;
  }
  if (metrics.rmse === undefined) return null;
  return (metrics.rmse - training.value) / training.value;
}

/**
 * Joins the labels that have arrived to the predictions made in [from, to) and scores each
 * version per window and over the whole range. Windows follow the prediction time, not the
 * label's arrival: a label sent days later lands in the window of its prediction. Rows
 * without a label count toward the coverage only.
 *
 * @example
 * const report = await computePerformance(index, info, { model: 'churn', from, to, windowMs: 86_400_000, minLabels: 100 });
 */
export async function computePerformance(
  source: PredictionSource,
  versionInfo: (version: string) => Promise<VersionInfo | { readonly skip: string }>,
  o: PerformanceOptions,
): Promise<PerformanceReport> {
  if (!(o.to > o.from)) throw new Error(`the range must end after it starts (from ${o.from}, to ${o.to})`);
  if (!(o.windowMs > 0)) throw new Error(`windowMs must be positive, got ${o.windowMs}`);
  const infos = new Map<string, VersionInfo | { readonly skip: string }>();
  const skipped = new Map<string, { version: string; reason: string; rows: number }>();
  const lookup = async (v: string) => {
    let i = infos.get(v);
    if (!i) {
      i = await versionInfo(v);
      infos.set(v, i);
    }
    return i;
  };
  const info = async (v: string) => (await lookup(v)) as VersionInfo;
  const windows = new Map<string, Accumulator>();
  const whole = new Map<string, Accumulator>();
  const acc = (map: Map<string, Accumulator>, key: string, version: string, from: number, to: number) => {
    let a = map.get(key);
    if (!a) {
      a = new Accumulator(version, from, to);
      map.set(key, a);
    }
    return a;
  };
  let latest = { t: -1, version: null as string | null };
  for await (const page of source.parts(o.model, o.from, o.to)) {
    const labels = await source.labels(page.map((p) => p.requestId));
    for (const part of page) {
      const found = await lookup(part.version);
      if ('skip' in found) {
        const s = skipped.get(part.version) ?? { version: part.version, reason: found.skip, rows: 0 };
        s.rows += part.predictions.length;
        skipped.set(part.version, s);
        continue;
      }
      const task = found.task;
      const w = Math.floor((part.timestamp - o.from) / o.windowMs);
      const wFrom = o.from + w * o.windowMs;
      const targets = [
        acc(windows, `${w}|${part.version}`, part.version, wFrom, Math.min(o.to, wFrom + o.windowMs)),
        acc(whole, part.version, part.version, o.from, o.to),
      ];
      // The serving version is the live alias's: an A/B test's treatment arm answers some
      // requests too, and its drop must not stand for (and roll back) the live version.
      if (part.arm !== 'treatment' && part.timestamp > latest.t)
        latest = { t: part.timestamp, version: part.version };
      const label = labels.get(part.requestId);
      for (let i = 0; i < part.predictions.length; i++) {
        const p = part.predictions[i];
        const y = label?.values[part.offset + i];
        const usable =
          y !== undefined &&
          Number.isFinite(y) &&
          (task === 'regression' || y === 0 || y === 1) &&
          p !== null &&
          p !== undefined;
        for (const a of targets) {
          a.rows++;
          a.last = Math.max(a.last, part.timestamp);
          if (y !== undefined && !usable) a.invalid++;
          if (usable) {
            a.predictions.push(p);
            a.labels.push(y);
          }
        }
      }
    }
  }
  const versions: VersionPerformance[] = [];
  for (const a of whole.values()) {
    const i = await info(a.version);
    const r = a.result(i.task, o.minLabels);
    versions.push({
      ...r,
      training: i.training ?? null,
      drop: performanceDrop(i.task, r.metrics, i.training ?? null),
      lastPrediction: a.last,
    });
  }
  const windowResults: Performance[] = [];
  for (const a of windows.values()) windowResults.push(a.result((await info(a.version)).task, o.minLabels));
  windowResults.sort((x, y) => x.from - y.from || x.version.localeCompare(y.version));
  versions.sort((x, y) => x.version.localeCompare(y.version, undefined, { numeric: true }));
  return {
    model: o.model,
    from: o.from,
    to: o.to,
    windows: windowResults,
    versions,
    servingVersion: latest.version,
    skipped: [...skipped.values()],
  };
}

const METRIC_NAMES: Record<keyof PerformanceMetrics, string> = {
  auc: 'AUC',
  accuracy: 'Accuracy',
  f1: 'F1',
  precision: 'Precision',
  recall: 'Recall',
  rmse: 'RMSE',
  mae: 'MAE',
};

/**
 * The report as CloudWatch embedded-metric-format records: per model and version the
 * coverage, labelled rows, metrics and drop; and per model alone the serving version's
 * drop and coverage, which the performance alarm watches (an alarm cannot follow versions).
 */
export function performanceEmf(report: PerformanceReport, now: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const v of report.versions) {
    const values: Record<string, number> = { LabelCoverage: v.coverage, LabelledRows: v.labelledRows };
    for (const [k, name] of Object.entries(METRIC_NAMES)) {
      const x = v.metrics?.[k as keyof PerformanceMetrics];
      if (typeof x === 'number' && Number.isFinite(x)) values[name] = x;
    }
    if (v.drop !== null) values.PerformanceDrop = v.drop;
    const record = (dims: string[]) => ({
      _aws: {
        Timestamp: now,
        CloudWatchMetrics: [
          {
            Namespace: MONITORING_NAMESPACE,
            Dimensions: [dims],
            Metrics: Object.keys(values).map((Name) => ({
              Name,
              Unit: Name === 'LabelledRows' ? 'Count' : 'None',
            })),
          },
        ],
      },
      mlops_performance: 1,
      model: report.model,
      ...(dims.includes('version') ? { version: v.version } : {}),
      window_from: new Date(report.from).toISOString(),
      window_to: new Date(report.to).toISOString(),
      ...values,
    });
    out.push(record(['model', 'version']));
    if (v.version === report.servingVersion) out.push(record(['model']));
  }
  return out;
}
