import { addOutcome, emptyTotals, type VariantTotals } from '../../experiments/analysis/totals';
import type { ExperimentStore, StoredExperiment } from '../../experiments/store/experiment-store';
import { MONITORING_NAMESPACE } from '../job/metrics';

/**
 * Proxy metrics from experiment outcomes: where labels are slow or missing, the outcomes an
 * A/B experiment records (did the unit convert, the value it brought) say how each version
 * does. An outcome is joined to the prediction that exposed its unit when it is recorded
 * (its `arm` is the arm of the unit's exposure, written from the prediction log), and an arm
 * is a model version (the experiment's control or treatment version).
 */

/** What the job reads of the experiment store. */
export type OutcomeSource = Pick<ExperimentStore, 'listByModel' | 'outcomes'>;

/** One experiment arm's outcomes over a window (or the whole range). */
export interface ProxyMetrics {
  readonly experiment: string;
  readonly version: string;
  readonly arm: 'control' | 'treatment';
  readonly from: number;
  readonly to: number;
  /** Outcomes recorded (one per unit and outcome id). */
  readonly outcomes: number;
  readonly conversions: number;
  /** conversions / outcomes; null without outcomes. */
  readonly conversionRate: number | null;
  /** Mean of the outcomes' value metric; null without outcomes. */
  readonly valueMean: number | null;
}

export interface ProxyReport {
  readonly model: string;
  readonly from: number;
  readonly to: number;
  /** Per window of outcome time, experiment and version. */
  readonly windows: ProxyMetrics[];
  /** Per experiment and version over the whole range. */
  readonly versions: ProxyMetrics[];
}

const ARMS = ['control', 'treatment'] as const;

function result(
  exp: StoredExperiment,
  arm: (typeof ARMS)[number],
  from: number,
  to: number,
  t: VariantTotals,
): ProxyMetrics {
  return {
    experiment: exp.id,
    version: arm === 'control' ? exp.control_version : exp.treatment_version,
    arm,
    from,
    to,
    outcomes: t.units,
    conversions: t.conversions,
    conversionRate: t.units ? t.conversions / t.units : null,
    valueMean: t.units ? t.valueMean : null,
  };
}

/**
 * The outcome metrics (conversion rate, mean value) of the model's experiments per version,
 * per window of `windowMs` and over [from, to), by the outcome's time. Experiments that had
 * not started by `to` are not read; a failed create has no outcomes.
 *
 * @example
 * const proxy = await computeProxyMetrics(store, { model: 'churn', from, to, windowMs: 86_400_000 });
 */
export async function computeProxyMetrics(
  store: OutcomeSource,
  o: { readonly model: string; readonly from: number; readonly to: number; readonly windowMs: number },
): Promise<ProxyReport> {
  const windows: ProxyMetrics[] = [];
  const versions: ProxyMetrics[] = [];
  for (const exp of await store.listByModel(o.model)) {
    if (exp.status === 'failed' || exp.status === 'starting') continue;
    // A stopped experiment is still read: outcomes arrive after the stop (late conversions).
    if (Date.parse(exp.started_at ?? exp.created_at) >= o.to) continue;
    const byWindow = new Map<string, { arm: (typeof ARMS)[number]; w: number; t: VariantTotals }>();
    const whole = new Map(ARMS.map((a) => [a, emptyTotals()]));
    for await (const page of store.outcomes(exp.id)) {
      for (const outcome of page) {
        const at = Date.parse(outcome.timestamp);
        if (!(at >= o.from && at < o.to)) continue;
        const arm = outcome.arm === 'treatment' ? 'treatment' : outcome.arm === 'control' ? 'control' : null;
        if (!arm) continue;
        const w = Math.floor((at - o.from) / o.windowMs);
        const key = `${w}|${arm}`;
        let acc = byWindow.get(key);
        if (!acc) {
          acc = { arm, w, t: emptyTotals() };
          byWindow.set(key, acc);
        }
        addOutcome(acc.t, outcome.converted, outcome.value);
        addOutcome(whole.get(arm)!, outcome.converted, outcome.value);
      }
    }
    for (const { arm, w, t } of byWindow.values()) {
      const wFrom = o.from + w * o.windowMs;
      windows.push(result(exp, arm, wFrom, Math.min(o.to, wFrom + o.windowMs), t));
    }
    for (const arm of ARMS) {
      const t = whole.get(arm)!;
      if (t.units) versions.push(result(exp, arm, o.from, o.to, t));
    }
  }
  windows.sort(
    (a, b) => a.from - b.from || a.experiment.localeCompare(b.experiment) || a.arm.localeCompare(b.arm),
  );
  return { model: o.model, from: o.from, to: o.to, windows, versions };
}

/**
 * The proxy metrics as embedded-metric-format records (namespace `ServerlessMlops/Monitoring`,
 * beside the label metrics): `OutcomeCount`, `ConversionRate` and `OutcomeMean` per model and
 * version, and per model, version and experiment, over the job's range.
 *
 * @example
 * for (const r of proxyEmf(report, Date.now())) console.log(JSON.stringify(r));
 */
export function proxyEmf(report: ProxyReport, now: number): Record<string, unknown>[] {
  return report.versions.map((v) => {
    const values: Record<string, number> = { OutcomeCount: v.outcomes };
    if (v.conversionRate !== null) values.ConversionRate = v.conversionRate;
    if (v.valueMean !== null && Number.isFinite(v.valueMean)) values.OutcomeMean = v.valueMean;
    return {
      _aws: {
        Timestamp: now,
        CloudWatchMetrics: [
          {
            Namespace: MONITORING_NAMESPACE,
            Dimensions: [
              ['model', 'version'],
              ['model', 'version', 'experiment'],
            ],
            Metrics: Object.keys(values).map((Name) => ({
              Name,
              Unit: Name === 'OutcomeCount' ? 'Count' : 'None',
            })),
          },
        ],
      },
      mlops_performance: 1,
      model: report.model,
      version: v.version,
      experiment: v.experiment,
      arm: v.arm,
      window_from: new Date(report.from).toISOString(),
      window_to: new Date(report.to).toISOString(),
      ...values,
    };
  });
}
