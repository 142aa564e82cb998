import { type Experiment, type Metric, type RunRecord, tagList } from '../domain/model';

/** Domain objects to MLflow's JSON: tag maps become `[{key, value}]`, NaN becomes "NaN". */

/** A metric value as MLflow's JSON writes it. */
export function wireValue(v: number): number | string {
  return Number.isNaN(v) ? 'NaN' : v;
}

/** An experiment as MLflow's JSON. */
export function experimentJson(e: Experiment) {
  return { ...e, tags: tagList(e.tags) };
}

/** A metric point as MLflow's JSON. */
export function metricJson(m: Metric) {
  return { key: m.key, value: wireValue(m.value), timestamp: m.timestamp, step: m.step };
}

/** A run as MLflow's JSON: info (with the legacy run_uuid), data, inputs. */
export function runJson(r: RunRecord) {
  return {
    info: { ...r.info, run_uuid: r.info.run_id },
    data: {
      metrics: Object.entries(r.metrics).map(([key, m]) => metricJson({ key, ...m })),
      params: tagList(r.params),
      tags: tagList(r.tags),
    },
    inputs: { dataset_inputs: r.inputs.map((d) => ({ ...d, tags: [...d.tags] })) },
  };
}
