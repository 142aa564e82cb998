import { z } from 'zod';
import { DriftConfigSchema } from '../lambdas/monitoring/drift/config';
import { parseSchedule } from '../lambdas/pipeline/schedule';
import { type ModelSignature, ModelSignatureSchema } from '../lambdas/serving/inference/signature';

/** An ECR image URI: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@sha256:digest]`. */
export const ECR_IMAGE_URI =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9]+(?:[._\-/][a-z0-9]+)*)(?::[\w.-]{1,128}|@sha256:[a-f0-9]{64})?$/;

/**
 * Who trains the candidate: the built-in trainers in a Lambda step, or a SageMaker training
 * job running the team's own container, which must write `model.onnx` (see docs/training.md).
 */
const trainerSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('builtin') }),
    z.strictObject({
      kind: z.literal('sagemaker'),
      /** The training container, an ECR image URI (the job pulls only from this repository). */
      image: z
        .string({ error: 'image is required: the ECR image URI of the training container' })
        .regex(
          ECR_IMAGE_URI,
          'image must be an ECR image URI, <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@sha256:<digest>]',
        ),
      instanceType: z
        .string()
        .regex(
          /^ml\.[a-z0-9-]+\.[a-z0-9]+$/,
          'instanceType must be a SageMaker instance type like ml.m5.xlarge',
        )
        .default('ml.m5.xlarge'),
      /** One instance: the import step reads one model; distributed training is the container's business. */
      instanceCount: z.literal(1, 'instanceCount must be 1').default(1),
      /** The job's stopping condition (SageMaker's limit is 28 days). */
      maxRuntimeSeconds: z.number().int().min(60).max(2_419_200).default(3600),
      /** The training volume (data, checkpoints, the model before upload). */
      volumeSizeGb: z.number().int().min(1).max(16_384).default(30),
      /**
       * Run the job with network isolation (the default): the container reaches nothing but
       * its input and output, which SageMaker copies for it. Turn off only for a container that
       * must fetch at run time (pretrained weights, packages); it then has outbound internet
       * access, and still only the job role's permissions.
       */
      networkIsolation: z.boolean().default(true),
      /** Run the built-in trials (Map) and send the best one's settings as hyperparameters. */
      tuneWithBuiltin: z.boolean().default(false),
      /** The model's declared inputs and outputs; the import step checks the ONNX model against it. */
      signature: z.unknown().transform((value, ctx): ModelSignature => {
        if (value === undefined) {
          ctx.addIssue({
            code: 'custom',
            message: "signature is required: the model's inputs and outputs (see docs/training.md)",
          });
          return z.NEVER;
        }
        const parsed = ModelSignatureSchema.safeParse(value);
        if (parsed.success) return parsed.data;
        for (const issue of parsed.error.issues)
          ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
        return z.NEVER;
      }),
    }),
  ],
  { error: "trainer.kind must be 'builtin' or 'sagemaker'" },
);
export type TrainerConfig = z.infer<typeof trainerSchema>;

/**
 * The platform's typed configuration. `bin/app.ts` reads it from the CDK context key
 * `mlops` (cdk.json, or `-c mlops='{"stage":"prod"}'`) and every construct receives the
 * validated result; each field has a default, so a team writes only what differs.
 */
export const platformConfigSchema = z
  .object({
    /** Deployment stage; part of resource names and the API stage. */
    stage: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,19}$/,
        'stage must be 1-20 lowercase letters, digits or dashes, starting with a letter',
      )
      .default('dev'),
    /** EventBridge schedule expression for the training pipeline. */
    pipelineSchedule: z
      .string()
      .superRefine((v, ctx) => {
        try {
          parseSchedule(v);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .default('cron(0 3 ? * MON *)'),
    /** What the scheduled and drift-triggered pipeline trains. */
    pipeline: z
      .object({
        featureService: z.string().min(1).default('purchase_propensity'),
        /** Entity rows with labels, as a key in the features bucket. */
        entityRows: z.string().min(1).default('labels/entity-rows.parquet'),
        label: z.string().min(1).default('label'),
        modelName: z.string().min(1).default('purchase-propensity'),
        algorithm: z.enum(['gbdt', 'logistic']).default('gbdt'),
        strategy: z.enum(['grid', 'random']).default('random'),
        maxTrials: z.number().int().min(1).max(10_000).default(6),
        /** From this many trials on, trials run in a Distributed Map (child executions). */
        distributedMapFrom: z.number().int().min(2).default(40),
        /** Trials running at once. */
        maxConcurrency: z.number().int().min(1).max(1000).default(10),
        /** Who trains the candidate. @default the built-in trainers */
        trainer: trainerSchema.default({ kind: 'builtin' }),
      })
      .prefault({}),
    /** Where models are served. */
    servingBackend: z.enum(['lambda', 'sagemaker']).default('lambda'),
    /** The predict function (see docs/serving.md). */
    serving: z
      .strictObject({
        /** The registered model served. @default pipeline.modelName */
        modelName: z.string().min(1).optional(),
        /** Serve this alias's version instead of the Production version. @default - Production */
        modelAlias: z.string().min(1).optional(),
        /** Provisioned concurrency of the `live` alias: warm environments, no cold starts (billed while idle). */
        provisionedConcurrency: z
          .number()
          .int()
          .min(0, 'serving.provisionedConcurrency must be 0 (on demand) or more')
          .default(0),
        /** 'staging-winners': a version moved to Staging (the pipeline's winner) starts a canary deployment. */
        autoDeploy: z.enum(['manual', 'staging-winners']).default('manual'),
        /** servingBackend 'sagemaker': the endpoint (docs/serving.md, "SageMaker backend"). */
        sagemaker: z
          .strictObject({
            /** The registered version the endpoint starts with; package it first (docs/serving.md). */
            initialVersion: z
              .string()
              .regex(
                /^\d+$/,
                'serving.sagemaker.initialVersion must be a registered version number, like "1"',
              )
              .default('1'),
            /** The serving container. @default AWS's SageMaker Triton image (24.09) of the stack's region */
            image: z
              .string()
              .regex(
                ECR_IMAGE_URI,
                'serving.sagemaker.image must be an ECR image URI, <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag]',
              )
              .optional(),
            instanceType: z
              .string()
              .regex(
                /^ml\.[a-z0-9-]+\.[a-z0-9]+$/,
                'serving.sagemaker.instanceType must be a SageMaker instance type like ml.c6i.large',
              )
              .default('ml.c6i.large'),
            /** Instances per variant (blue and green each run this many). */
            instanceCount: z
              .number()
              .int()
              .min(1, 'serving.sagemaker.instanceCount must be 1 or more')
              .default(1),
          })
          .prefault({}),
      })
      .prefault({}),
    /** Batch scoring's workflow (lib/serving/batch-scoring.ts, docs/serving.md). */
    batchScoring: z
      .strictObject({
        /** Shards scored at once by the Distributed Map. */
        maxConcurrency: z.number().int().min(1).max(10_000).default(10),
        /** Memory of the shard function, MB. */
        memorySize: z.number().int().min(512).max(10_240).default(3008),
      })
      .prefault({}),
    /** Days to keep function, API and state machine logs. */
    logRetentionDays: z
      .union([z.literal(7), z.literal(14), z.literal(30), z.literal(90), z.literal(365)])
      .default(30),
    /** Steady-state API request rate limit and burst (requests per second). */
    apiThrottle: z
      .object({
        rateLimit: z.number().positive().default(100),
        burstLimit: z.number().int().positive().default(200),
      })
      .default({ rateLimit: 100, burstLimit: 200 }),
    alarms: z
      .object({
        /** p99 latency of serving, in milliseconds, above which the latency alarm fires. */
        latencyP99Ms: z.number().positive().default(500),
        /** Share of 5xx answers (0-1) above which the error alarm fires. */
        errorRate: z.number().min(0).max(1).default(0.01),
        /** Population stability index above which a feature counts as drifted. */
        driftPsi: z.number().positive().default(0.2),
        /**
         * Share of a new serving version's predictions outside its baseline's central 98%
         * (0-1; 0.02 when nothing shifted) above which its canary rolls back.
         */
        predictionShift: z.number().gt(0).lt(1).default(0.2),
        /**
         * Relative drop of the serving version's AUC (or rise of its RMSE) on delayed labels
         * from its test metric at training (0-1) above which the performance alarm fires.
         */
        performanceDrop: z.number().gt(0).lt(1).default(0.1),
      })
      .default({
        latencyP99Ms: 500,
        errorRate: 0.01,
        driftPsi: 0.2,
        predictionShift: 0.2,
        performanceDrop: 0.1,
      }),
    /** The drift job over the prediction log (docs/monitoring.md). */
    monitoring: z
      .strictObject({
        /** When the drift job runs (EventBridge expression). */
        schedule: z
          .string()
          .superRefine((v, ctx) => {
            try {
              parseSchedule(v);
            } catch (err) {
              ctx.addIssue({ code: 'custom', message: (err as Error).message });
            }
          })
          .default('rate(1 hour)'),
        /** Hours of logged traffic each run compares with the baseline, ending at the run. */
        windowHours: z.number().positive().max(2160).default(24),
        /** minSamples, driftShare, per-feature method and threshold (`features.<name>`), as `mlops monitor drift --config`. */
        drift: DriftConfigSchema.omit({ prediction: true }).prefault({}),
        /** Days the stored prediction log and reports are kept. */
        retentionDays: z.number().int().min(1).max(3650).default(400),
        /** Rows of a version's window above which the drift job aggregates it in Athena (DuckDB locally) instead of streaming it. */
        aggregateRows: z.number().int().min(1).default(10_000_000),
      })
      .prefault({}),
    /** The performance job on delayed labels (docs/monitoring.md). */
    performance: z
      .strictObject({
        /** When the job runs (EventBridge expression). */
        schedule: z
          .string()
          .superRefine((v, ctx) => {
            try {
              parseSchedule(v);
            } catch (err) {
              ctx.addIssue({ code: 'custom', message: (err as Error).message });
            }
          })
          .default('rate(1 hour)'),
        /** Hours of prediction time each run scores, ending now. */
        lookbackHours: z.number().int().min(1).max(2160).default(168),
        /** Length of the windows reported within it, in hours. */
        windowHours: z.number().int().min(1).max(2160).default(24),
        /** Labelled rows below which a version gets no metrics (no verdict). */
        minLabels: z.number().int().min(1).default(100),
        /** Days a prediction stays joinable to a label (the prediction index's TTL). */
        labelTtlDays: z.number().int().min(1).max(3650).default(90),
      })
      .prefault({}),
    /**
     * Where every alarm (on ALARM and OK) and every pipeline failure is sent: one SNS topic,
     * whose ARN is the stack output `AlertTopicArn`.
     */
    alerts: z
      .strictObject({
        /** Address subscribed to the topic; AWS mails it a confirmation link first. @default - none */
        email: z.email('alerts.email must be an e-mail address').optional(),
      })
      .prefault({}),
    /**
     * Ephemeral storage (`/tmp`, MiB) of the functions that run DuckDB: its spill files and
     * the copies of batches and training sets they read. Lambda allows 512 to 10,240.
     */
    ephemeralStorageMiB: z
      .number()
      .int()
      .min(512, "ephemeralStorageMiB must be at least 512 (Lambda's minimum)")
      .max(10_240, "ephemeralStorageMiB must be at most 10240 (Lambda's maximum)")
      .default(2048),
    /** Who may assume the access roles (docs/security.md). */
    access: z
      .strictObject({
        /**
         * IAM principals trusted to assume the data scientist, deployer and serving roles.
         * @default - the stack's account (principals whose own policy allows sts:AssumeRole)
         */
        trustedPrincipalArns: z
          .array(
            z
              .string()
              .regex(
                /^arn:aws[a-z-]*:(iam|sts)::\d{12}:(root|user\/.+|role\/.+|assumed-role\/.+)$/,
                'access.trustedPrincipalArns entries must be IAM principal ARNs, like arn:aws:iam::123456789012:role/ml-team or arn:aws:iam::123456789012:root',
              ),
          )
          .min(
            1,
            'access.trustedPrincipalArns must list at least one principal (omit it to trust the account)',
          )
          .optional(),
      })
      .prefault({}),
    /** The web console on AWS: S3 behind CloudFront, sign-in through Cognito (docs/console.md). */
    console: z
      .strictObject({
        /** Deploy the console's hosting and sign-in resources. */
        enabled: z.boolean().default(true),
      })
      .prefault({}),
    /** Keep data stores when the stack is deleted (production default). */
    retainData: z.boolean().default(true),
  })
  .strict();

export type PlatformConfig = z.infer<typeof platformConfigSchema>;
export type PlatformConfigInput = z.input<typeof platformConfigSchema>;

/**
 * Validates a configuration, throwing an error that names each wrong field and what to
 * write instead, so a mistake fails at synth time rather than at deploy time.
 *
 * @example
 * const config = resolvePlatformConfig({ stage: 'prod', servingBackend: 'sagemaker' });
 */
export function resolvePlatformConfig(input: unknown = {}): PlatformConfig {
  const parsed = platformConfigSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Error(`Invalid mlops configuration:\n${problems.join('\n')}`);
}
