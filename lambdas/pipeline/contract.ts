import { z } from 'zod';

/**
 * The pipeline's input: why it runs and what it trains. The schedule and drift rules send
 * it; `mlops pipeline run` builds it from flags. One schema validates it in the first task
 * (so a bad input fails before anything is trained) and documents it.
 */
export const PipelineInputSchema = z.strictObject({
  trigger: z.enum(['schedule', 'drift', 'manual']).default('manual'),
  /** Free text: the cron, the drift alarm, who ran it. */
  reason: z.string().max(1000).optional(),
  featureService: z.string().min(1),
  /** Key of the entity rows (join keys, timestamp, label) in the features bucket, CSV or Parquet. */
  entityRows: z
    .string()
    .regex(/^labels\/.+\.(csv|parquet)$/, 'entityRows must be a .csv or .parquet key under labels/'),
  label: z.string().min(1),
  timestampColumn: z.string().min(1).default('event_timestamp'),
  /** Only entity rows with timestamps in [start, end) train; both must carry a time zone. */
  window: z
    .strictObject({
      start: z.iso.datetime({ offset: true }).optional(),
      end: z.iso.datetime({ offset: true }).optional(),
    })
    .optional(),
  /** New raw batches to validate and ingest first: source name and object key. */
  landing: z
    .array(
      z.strictObject({
        source: z.string().min(1),
        key: z
          .string()
          .regex(/^landing\/.+\.(csv|parquet)$/, 'landing keys must be .csv or .parquet keys under landing/'),
      }),
    )
    .max(100)
    .default([]),
  modelName: z
    .string()
    .regex(/^[\w.\- ]{1,200}$/, 'modelName: letters, digits, space, and _ . - only (at most 200)'),
  /** Tracking experiment of the pipeline's runs. @default the model name */
  experimentName: z.string().min(1).max(500).optional(),
  training: z
    .strictObject({
      algorithm: z.enum(['gbdt', 'logistic']).default('gbdt'),
      options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
      strategy: z.enum(['grid', 'random']).default('random'),
      maxTrials: z.number().int().min(1).max(10_000).default(6),
      /** The metric that picks the best trial. @default auc (binary) or rmse (regression) */
      metric: z.string().optional(),
      seed: z.number().int().min(0).default(7),
      promotionRule: z.unknown().optional(),
      /**
       * Missing feature values (the point-in-time join leaves them past a TTL): numeric ones
       * filled with the training split's `mean`, `median` or `zero`, or `reject` (an error).
       * Categorical ones count as no known category unless `reject`.
       */
      missing: z.enum(['mean', 'median', 'zero', 'reject']).default('mean'),
    })
    .prefault({}),
});
export type PipelineInput = z.infer<typeof PipelineInputSchema>;

/** What every task receives: the state so far, and which execution it belongs to. */
export interface TaskEvent<S> {
  readonly state: S;
  readonly execution: { readonly id: string; readonly name: string };
}

export interface RunRef {
  readonly runId: string;
  readonly experimentId: string;
}

export interface TrainingSetRef {
  readonly key: string;
  readonly digest: string;
  readonly rows: number;
  readonly columns: readonly string[];
  /** The feature service's columns (the rest are the entity rows' own: keys, timestamp, label). */
  readonly featureColumns: readonly string[];
}

export interface TrialSpec {
  readonly index: number;
  readonly params: Record<string, string | number | boolean>;
}

export interface TrialOutcome extends TrialSpec {
  readonly runId: string;
  readonly metrics: Record<string, number>;
}

export interface CandidateRef {
  readonly runId: string;
  readonly testMetrics: Record<string, number>;
  readonly bestTrial: number;
  readonly params: Record<string, string | number | boolean>;
}

/** Plan Trials' mode: a search, or one trial with the input's options (an external trainer without tuning). */
export type Planning = 'search' | 'configured';

/**
 * Where the planned trials go: into the state (an inline Map iterates them), or into an
 * object in the features bucket (a Distributed Map reads it), keeping the state small.
 */
export type TrialsIn = 'state' | 'object';

/** The most trials an inline Map runs: its plan and results ride in the 256 KB state. */
export const INLINE_MAX_TRIALS = 100;

/** Prefix in the features bucket where the Distributed Map writes its trials' results. */
export const TRIAL_RESULTS_PREFIX = 'trial-results';

/** The search's plan: its metric, how many trials, and the trials (or the key of the object holding them). */
export interface TrialPlan {
  readonly metric: string;
  readonly count: number;
  /** Inline: the trials themselves. */
  readonly trials?: readonly TrialSpec[];
  /** In the features bucket: a JSON array of trials. */
  readonly trialsKey?: string;
}

/**
 * The trials' outcomes: inline, the Map's results; from a Distributed Map, the key of the
 * manifest its ResultWriter wrote in the features bucket.
 */
export type TrialResults = readonly TrialOutcome[] | { readonly manifest: string };

/** What Prepare Training Job hands the SageMaker task: where to read and write, and with what settings. */
export interface TrainingJobRequest {
  /** Unique per execution and stable across retries (SageMaker refuses a name twice). */
  readonly jobName: string;
  /** The `train` channel: an S3 prefix holding only the training rows (never the test rows). */
  readonly trainUri: string;
  /** The job's output path; SageMaker writes `<outputUri><jobName>/output/model.tar.gz`. */
  readonly outputUri: string;
  /** SageMaker takes strings only. */
  readonly hyperparameters: Record<string, string>;
  readonly bestTrial: number;
  readonly params: Record<string, string | number | boolean>;
  readonly trainRows: number;
}

/** What the SageMaker task keeps of DescribeTrainingJob (the task's ResultSelector). */
export interface TrainedJob {
  readonly jobName: string;
  /** `s3://<bucket>/models/<execution>/<job>/output/model.tar.gz` */
  readonly modelArtifacts: string;
  readonly image?: string;
}

export interface Verdict {
  readonly promote: boolean;
  readonly reasons: readonly string[];
  readonly productionVersion: string | null;
  readonly candidate: Record<string, number>;
  readonly production: Record<string, number> | null;
}

/** The state as it grows through the execution (each task adds its part). */
export interface PipelineState {
  readonly input: PipelineInput;
  readonly run: RunRef;
  readonly data?: {
    readonly ingested: readonly { source: string; batchId: string; rows: number; status: string }[];
  };
  readonly trainingSet?: TrainingSetRef;
  readonly plan?: TrialPlan;
  readonly trialResults?: TrialResults;
  readonly trainingJob?: TrainingJobRequest;
  readonly trainedJob?: TrainedJob;
  readonly candidate?: CandidateRef;
  readonly evaluation?: Verdict;
  readonly error?: { readonly Error: string; readonly Cause: unknown };
}

/** The item each parallel trial receives (the Map's item selector). */
export interface TrialItem {
  readonly trial: TrialSpec;
  readonly input: PipelineInput;
  readonly run: RunRef;
  readonly trainingSet: TrainingSetRef;
}
