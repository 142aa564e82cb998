import { mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

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
  /** Feature values by name, one per row (what the model was fed, after any online lookup). */
  readonly inputs: Readonly<Record<string, readonly unknown[]>>;
  /** The primary output per row (P(y = 1), the regression value or the score). */
  readonly predictions: ArrayLike<number>;
  /** The entity keys when the features were read online. */
  readonly entities?: Readonly<Record<string, readonly unknown[]>>;
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
 * The prediction log: one JSON line per request (per 100 rows) marked `"mlops_prediction": 1`,
 * which is at the same time a CloudWatch embedded-metric-format record: per model version it
 * emits `PredictLatency` (ms), `PredictErrors` (5xx and model failures), `PredictRows` and
 * `Prediction` (each row's value, for the distribution). The line is written synchronously
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

  success(r: PredictionRecord): void {
    const rows = r.predictions.length;
    const parts = Math.max(1, Math.ceil(rows / ROWS_PER_LINE));
    for (let p = 0; p < parts; p++) {
      const from = p * ROWS_PER_LINE;
      const to = Math.min(rows, from + ROWS_PER_LINE);
      const predictions = Array.from({ length: to - from }, (_, i) => r.predictions[from + i]!);
      const slice = (cols: Readonly<Record<string, readonly unknown[]>>) =>
        Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v.slice(from, to)]));
      const first = p === 0;
      const metrics = [
        ...(first
          ? [
              { Name: 'PredictLatency', Unit: 'Milliseconds' },
              { Name: 'PredictErrors', Unit: 'Count' },
              { Name: 'PredictRows', Unit: 'Count' },
            ]
          : []),
        { Name: 'Prediction', Unit: 'None' },
      ];
      this.sink(
        JSON.stringify({
          ...this.envelope(r, metrics),
          status: 200,
          rows,
          ...(parts > 1 ? { part: p + 1, parts } : {}),
          latency_ms: round(r.latencyMs),
          inputs: slice(r.inputs),
          ...(r.entities ? { entities: slice(r.entities) } : {}),
          predictions,
          ...(first ? { PredictLatency: round(r.latencyMs), PredictErrors: 0, PredictRows: rows } : {}),
          Prediction: predictions,
        }),
      );
    }
  }

  failure(f: PredictionFailure): void {
    // Caller mistakes (4xx) say nothing about the version's health: counted apart from errors.
    const serverError = f.status >= 500;
    this.sink(
      JSON.stringify({
        ...this.envelope(f, [
          { Name: 'PredictErrors', Unit: 'Count' },
          { Name: 'PredictRejected', Unit: 'Count' },
        ]),
        status: f.status,
        error_code: f.errorCode,
        latency_ms: round(f.latencyMs),
        PredictErrors: serverError ? 1 : 0,
        PredictRejected: serverError ? 0 : 1,
      }),
    );
  }

  private envelope(
    r: { requestId: string; model: string; version: string; variant: string; api: string },
    metrics: { Name: string; Unit: string }[],
  ) {
    return {
      mlops_prediction: 1,
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: [
          // Per variant too: the canary's alarms (lib/serving/deployment.ts) watch the new version's variant.
          {
            Namespace: SERVING_NAMESPACE,
            Dimensions: [
              ['model', 'version'],
              ['model', 'variant'],
            ],
            Metrics: metrics,
          },
        ],
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

/**
 * The sink for an environment: on the local runtime (`MLOPS_LOCAL_DATA_DIR`) lines are
 * appended to `<dataDir>/logs/predictions.jsonl`, standing in for CloudWatch Logs; with
 * `PREDICTION_LOG=off` they are dropped; otherwise they go to stdout.
 */
export function sinkFor(env: NodeJS.ProcessEnv = process.env): LineSink {
  if (env.PREDICTION_LOG === 'off') return () => undefined;
  const dir = env.MLOPS_LOCAL_DATA_DIR;
  if (dir) {
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
