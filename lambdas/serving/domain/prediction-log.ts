import { mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestLine } from '../../platform/http/middleware';
import { type PredictionRange, shiftFlags } from './prediction-shift';

/** Metric namespace of serving's per-version metrics. */
export const SERVING_NAMESPACE = 'ServerlessMlops/Serving';
/** Rows per log line: EMF takes at most 100 values per metric, and a line stays far below 256 KB. */
export const ROWS_PER_LINE = 100;

/** One scored request, as monitoring reads it back. */
export interface PredictionRecord {
  readonly requestId: string;
  readonly model: string;
  readonly version: string;
  readonly variant: string;
  /** Which API answered: `v1` (predict) or `v2` (infer). */
  readonly api: 'v1' | 'v2';
  readonly latencyMs: number;
  /**
   * Feature values by name, one per row (what the model was fed, after any online lookup);
   * a numeric column's NaN (a missing value) is written as null.
   */
  readonly inputs: Readonly<Record<string, readonly unknown[] | Float64Array>>;
  /** The primary output per row (P(y = 1), the regression value or the score). */
  readonly predictions: ArrayLike<number>;
  /** The entity keys when the features were read online. */
  readonly entities?: Readonly<Record<string, readonly unknown[]>>;
  /** A/B test: the running experiment and the arm that scored (lines carry `experiment`, `arm`). */
  readonly experiment?: string;
  readonly arm?: string;
  /** The request's unit (`unit_id`), from which experiment exposures are recorded. */
  readonly unitId?: string;
  /** The version's baseline central 98%: when known, each row's `PredictionShift` (0 or 1) is emitted. */
  readonly predictionRange?: PredictionRange;
}

/** A request that failed before or while scoring. */
export interface PredictionFailure {
  readonly requestId: string;
  readonly model: string;
  readonly version: string;
  readonly variant: string;
  readonly api: 'v1' | 'v2';
  readonly latencyMs: number;
  readonly status: number;
  readonly errorCode: string;
}

/** Where lines go: stdout on Lambda (CloudWatch Logs). */
export type LineSink = (line: string) => void;

/**
 * The HTTP request line folded into the prediction line (its members and its metric
 * directive), so a predict request writes one line, not two (lambdas/platform/http/middleware.ts).
 */
export type FoldedRequest = Pick<RequestLine, 'members' | 'directive'>;

/**
 * The prediction log: one JSON line per request (per 100 rows) marked `"mlops_prediction": 1`,
 * which is at the same time a CloudWatch embedded-metric-format record: per model version it
 * emits `PredictLatency` (ms), `PredictErrors` (5xx and model failures), `PredictRows` and
 * `Prediction` (each row's value, for the distribution) and, when the version has a baseline
 * profile, `PredictionShift` (per row, 1 outside the baseline's central 98%: the canary's shift alarm). The line is written synchronously
 * before the response returns: a write to the stdout pipe Lambda's log agent reads, about a
 * microsecond per kilobyte, so the response waits for no network call, and nothing is
 * buffered in the process for a frozen or recycled environment to lose.
 *
 * @example
 * const log = new PredictionLog((line) => process.stdout.write(`${line}\n`));
 * log.success({ requestId, model: 'churn', version: '3', variant: 'live', api: 'v1', latencyMs: 1.2, inputs, predictions });
 */
export class PredictionLog {
  constructor(
    private readonly sink: LineSink,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Writes the line(s) of a scored request. Serialized by hand in one pass, the
   * predictions once for both their fields: this runs inside every predict request's
   * latency (JSON.stringify of the object, with its spreads, slices and a second copy of
   * the predictions, cost about twice as much CPU). With `request`, the first line also
   * carries the HTTP request line's members and metrics.
   */
  success(r: PredictionRecord, request?: FoldedRequest): void {
    const rows = r.predictions.length;
    const parts = Math.max(1, Math.ceil(rows / ROWS_PER_LINE));
    const latency = json(round(r.latencyMs));
    const shift = r.predictionRange !== undefined;
    for (let p = 0; p < parts; p++) {
      const from = p * ROWS_PER_LINE;
      const to = Math.min(rows, from + ROWS_PER_LINE);
      const first = p === 0;
      const t = this.now();
      const predictions = numbersJson(r.predictions, from, to);
      const directives = successDirective(first, shift);
      let line = `{"mlops_prediction":1,"_aws":{"Timestamp":${t},"CloudWatchMetrics":${
        first && request?.directive ? `${directives.slice(0, -1)},${request.directive}]` : directives
      }}`;
      line += `,"timestamp":"${new Date(t).toISOString()}","request_id":${json(r.requestId)},"model":${json(r.model)}`;
      line += `,"version":${json(r.version)},"variant":${json(r.variant)},"api":${json(r.api)},"status":200,"rows":${rows}`;
      if (parts > 1) line += `,"part":${p + 1},"parts":${parts}`;
      line += `,"latency_ms":${latency},"inputs":${columnsJson(r.inputs, from, to)}`;
      if (r.entities) line += `,"entities":${columnsJson(r.entities, from, to)}`;
      if (r.experiment !== undefined) {
        line += `,"experiment":${json(r.experiment)}`;
        if (r.arm !== undefined) line += `,"arm":${json(r.arm)}`;
      }
      if (r.unitId !== undefined) line += `,"unit_id":${json(r.unitId)}`;
      line += `,"predictions":${predictions}`;
      if (first) line += `,"PredictLatency":${latency},"PredictErrors":0,"PredictRows":${rows}`;
      line += `,"Prediction":${predictions}`;
      if (r.predictionRange) {
        line += `,"PredictionShift":[${shiftFlags(r.predictions, r.predictionRange, from, to).join(',')}]`;
      }
      if (first && request) line += request.members;
      this.sink(`${line}}`);
    }
  }

  failure(f: PredictionFailure, request?: FoldedRequest): void {
    // Caller mistakes (4xx) say nothing about the version's health: counted apart from errors.
    const serverError = f.status >= 500;
    const envelope = this.envelope(f, [
      { Name: 'PredictErrors', Unit: 'Count' },
      { Name: 'PredictRejected', Unit: 'Count' },
    ]);
    if (request?.directive) envelope._aws.CloudWatchMetrics.push(JSON.parse(request.directive));
    const line = JSON.stringify({
      ...envelope,
      status: f.status,
      error_code: f.errorCode,
      latency_ms: round(f.latencyMs),
      PredictErrors: serverError ? 1 : 0,
      PredictRejected: serverError ? 0 : 1,
    });
    this.sink(request ? `${line.slice(0, -1)}${request.members}}` : line);
  }

  private envelope(
    r: { requestId: string; model: string; version: string; variant: string; api: string },
    metrics: { Name: string; Unit: string }[],
  ) {
    return {
      mlops_prediction: 1,
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: directives(metrics),
      },
      timestamp: new Date(this.now()).toISOString(),
      request_id: r.requestId,
      model: r.model,
      version: r.version,
      variant: r.variant,
      api: r.api,
    };
  }
}

function round(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : v;
}

const json = JSON.stringify;

/** A JSON array of numbers[from, to), non-finite ones as null (as JSON.stringify writes them). */
function numbersJson(values: ArrayLike<number>, from: number, to: number): string {
  let out = '[';
  for (let i = from; i < to; i++) {
    const v = values[i] as number;
    out += `${i > from ? ',' : ''}${Number.isFinite(v) ? v : 'null'}`;
  }
  return `${out}]`;
}

/**
 * `{"name": [values from..to], ...}` of columns, unsliced when the line holds every row; a
 * numeric column written number by number (as JSON.stringify writes them, NaN as null).
 */
function columnsJson(
  cols: Readonly<Record<string, readonly unknown[] | Float64Array>>,
  from: number,
  to: number,
): string {
  let out = '{';
  let sep = '';
  for (const name in cols) {
    const v = cols[name] as readonly unknown[] | Float64Array;
    const values =
      v instanceof Float64Array
        ? numbersJson(v, from, Math.min(to, v.length))
        : json(from === 0 && to >= v.length ? v : v.slice(from, to));
    out += `${sep}${json(name)}:${values}`;
    sep = ',';
  }
  return `${out}}`;
}

/** The metric directive of a success line, by whether it is the first part and carries PredictionShift. */
const SUCCESS_DIRECTIVES = new Map<string, string>();
function successDirective(first: boolean, shift: boolean): string {
  const key = `${first}${shift}`;
  let d = SUCCESS_DIRECTIVES.get(key);
  if (d === undefined) {
    const metrics = [
      ...(first
        ? [
            { Name: 'PredictLatency', Unit: 'Milliseconds' },
            { Name: 'PredictErrors', Unit: 'Count' },
            { Name: 'PredictRows', Unit: 'Count' },
          ]
        : []),
      { Name: 'Prediction', Unit: 'None' },
      ...(shift ? [{ Name: 'PredictionShift', Unit: 'None' }] : []),
    ];
    d = json(directives(metrics));
    SUCCESS_DIRECTIVES.set(key, d);
  }
  return d;
}

/** `_aws.CloudWatchMetrics`: per model version, and per variant for the canary's alarms (lib/serving/deployment.ts). */
function directives(metrics: { Name: string; Unit: string }[]): object[] {
  return [
    {
      Namespace: SERVING_NAMESPACE,
      Dimensions: [
        ['model', 'version'],
        ['model', 'variant'],
      ],
      Metrics: metrics,
    },
  ];
}

/**
 * The sink for an environment: stdout, as on Lambda, also in the local runtime's function
 * sandboxes (`MLOPS_LOCAL_STDOUT=captured`), whose host reads stdout as CloudWatch Logs does
 * (subscriptions, alarms) and keeps these lines in `<dataDir>/logs/predictions.jsonl`. A
 * process with `MLOPS_LOCAL_DATA_DIR` but no such host (an in-process benchmark) appends to
 * that file itself; with `PREDICTION_LOG=off` lines are dropped.
 */
export function sinkFor(env: NodeJS.ProcessEnv = process.env): LineSink {
  if (env.PREDICTION_LOG === 'off') return () => undefined;
  const dir = env.MLOPS_LOCAL_DATA_DIR;
  if (dir && env.MLOPS_LOCAL_STDOUT !== 'captured') {
    const file = join(dir, 'logs', 'predictions.jsonl');
    mkdirSync(join(dir, 'logs'), { recursive: true });
    // One descriptor for the process: a write per line, no open and close per request.
    const fd = openSync(file, 'a');
    return (line) => {
      writeSync(fd, `${line}\n`);
    };
  }
  return (line) => {
    process.stdout.write(`${line}\n`);
  };
}
