/**
 * One line of serving's prediction log (lambdas/serving/domain/prediction-log.ts) as the
 * log's consumers read it back: the shipper that stores the log in S3, and the sinks it
 * hands each batch to (the prediction index for delayed labels, experiment exposures).
 */
export interface LoggedPrediction {
  readonly requestId: string;
  readonly model: string;
  readonly version: string;
  /** The Lambda variant (version) or serving arm that answered. */
  readonly variant: string;
  readonly api: string;
  /** Epoch milliseconds of the answer. */
  readonly timestamp: number;
  readonly status: number;
  readonly latencyMs: number;
  /** Rows in this line (a batch over 100 rows spans several lines: `part` of `parts`). */
  readonly rows: number;
  readonly part?: number;
  readonly parts?: number;
  /** Feature values by name, one per row; empty for failures. */
  readonly inputs: Readonly<Record<string, readonly unknown[]>>;
  /** The primary output per row; empty for failures. */
  readonly predictions: readonly number[];
  readonly entities?: Readonly<Record<string, readonly unknown[]>>;
  readonly errorCode?: string;
  /** Any further fields of the line (for example an experiment's `experiment`, `arm`, `unit_ids`). */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** Takes each batch of successfully parsed log lines; must be idempotent (batches can be redelivered). */
export interface PredictionSink {
  readonly name: string;
  write(records: readonly LoggedPrediction[]): Promise<void>;
}
