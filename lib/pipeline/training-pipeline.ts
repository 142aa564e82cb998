import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { IPlatformApi } from '../api/platform-api';
import type { PlatformConfig } from '../config';
import type { IFeatureOfflineStore } from '../features/offline-store';
import { arnAttrInFinding, arnInFinding } from '../private/nag-findings';
import { NATIVE_MODULES } from '../private/native-layer';
import { PlatformFunction, type PlatformFunctionProps } from '../private/platform-function';
import { JOB_OVERHEAD, SageMakerTraining } from './sagemaker-training';

export interface TrainingPipelineProps {
  readonly api: IPlatformApi;
  /** Feature registry, offline store, entity rows, training sets. */
  readonly featuresBucket: s3.IBucket;
  readonly config: PlatformConfig;
  readonly functionDefaults: Pick<PlatformFunctionProps, 'serviceName' | 'stage' | 'logRetentionDays'>;
  /** The offline store's Athena workgroup and Glue database: training sets are built there on AWS. @default - DuckDB in the function */
  readonly offlineStore?: IFeatureOfflineStore;
  /** DuckDB and ONNX Runtime for the functions that read data and score models. */
  readonly nativeLayer: lambda.ILayerVersion;
  /** Event source and detail type that start a retraining when drift is detected. */
  readonly driftEvent?: { readonly source: string; readonly detailType: string };
}

/** The pipeline's steps: the handler each runs, and how much room it needs. */
const STEPS = {
  startRun: { memory: 512, timeout: 2 },
  validateData: { memory: 2048, timeout: 10 },
  buildTrainingSet: { memory: 4096, timeout: 15 },
  planTrials: { memory: 512, timeout: 2 },
  runTrial: { memory: 4096, timeout: 15 },
  trainCandidate: { memory: 6144, timeout: 15 },
  evaluateCandidate: { memory: 4096, timeout: 15 },
  registerCandidate: { memory: 1024, timeout: 5 },
  recordRejection: { memory: 512, timeout: 2 },
  markFailed: { memory: 512, timeout: 2 },
  // With a SageMaker trainer: shape the job (and write its training rows), then import its model.
  prepareTrainingJob: { memory: 4096, timeout: 10 },
  importCandidate: { memory: 4096, timeout: 15 },
} as const;
export type PipelineStep = keyof typeof STEPS;

/** The steps a pipeline has for its trainer (a SageMaker job replaces the built-in training step). */
export function pipelineSteps(trainer: PlatformConfig['pipeline']['trainer']): PipelineStep[] {
  const all = Object.keys(STEPS) as PipelineStep[];
  if (trainer.kind === 'builtin')
    return all.filter((s) => s !== 'prepareTrainingJob' && s !== 'importCandidate');
  return all.filter((s) => s !== 'trainCandidate' && (s !== 'runTrial' || trainer.tuneWithBuiltin));
}

/** The default drift trigger: what the monitoring area publishes. */
export const DRIFT_EVENT = { source: 'mlops.monitoring', detailType: 'DriftDetected' } as const;

/**
 * The training pipeline on Step Functions (JSONPath, so the local runtime runs the same
 * definition): validate data → point-in-time training set → search trials in parallel
 * (Map, or Distributed Map for many trials) → train the best → evaluate against
 * Production → Choice on the verdict → register in Staging, or record why not. Every task
 * retries throttling and Lambda service errors with backoff, has a timeout, and is caught
 * into a failure path that marks the run FAILED and notifies SNS. Started weekly by an
 * EventBridge schedule and whenever drift is detected.
 */
export class TrainingPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly failureTopic: sns.Topic;
  /** The Lambda function of each step the configured trainer uses. */
  readonly functions: Partial<Record<PipelineStep, lambda.Function>>;
  /** The SageMaker job's role, key and task, when the trainer is a SageMaker job. */
  readonly sageMaker?: SageMakerTraining;
  readonly scheduleRule: events.Rule;
  readonly driftRule: events.Rule;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const { config } = props;
    const pipelineConfig = config.pipeline;
    const trainer = pipelineConfig.trainer;
    const steps = pipelineSteps(trainer);

    this.failureTopic = new sns.Topic(this, 'Failures', {
      displayName: `mlops ${config.stage} pipeline failures`,
      enforceSSL: true,
      masterKey: undefined,
    });
    Validations.of(this.failureTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Failure notices carry run ids and error text, no data; SNS-managed encryption would need a KMS key policy for EventBridge/Step Functions.',
    });

    const fns: Partial<Record<PipelineStep, lambda.Function>> = {};
    const fnOf = (step: PipelineStep): lambda.Function => {
      const fn = fns[step];
      if (!fn) throw new Error(`The ${trainer.kind} pipeline has no ${step} step`);
      return fn;
    };
    for (const step of steps) {
      const room = STEPS[step];
      const fn = new PlatformFunction(this, capitalize(step), {
        ...props.functionDefaults,
        entry: 'lambdas/pipeline/handlers.ts',
        handler: step,
        memorySize: room.memory,
        timeout: Duration.minutes(room.timeout),
        layers: [props.nativeLayer],
        externalModules: NATIVE_MODULES,
        environment: {
          FEATURES_BUCKET: props.featuresBucket.bucketName,
          MLOPS_API_URL: props.api.url,
          // Training sets are built by Athena on AWS (DuckDB locally ignores these).
          ...(step === 'buildTrainingSet' && props.offlineStore
            ? {
                MLOPS_ATHENA_WORKGROUP: props.offlineStore.workGroupName,
                MLOPS_FEATURES_DATABASE: props.offlineStore.databaseName,
                MLOPS_FEATURES_BUCKET: props.featuresBucket.bucketName,
              }
            : {}),
        },
      }).fn;
      props.api.grantInvoke(fn);
      if (step === 'buildTrainingSet' && props.offlineStore) {
        const offline = props.offlineStore;
        offline.grantQuery(fn);
        const db = offline.databaseName;
        for (const [finding, reason] of [
          [
            `Resource::${arnAttrInFinding(offline.resultsBucket)}/*`,
            "Athena writes query results into the workgroup's own results bucket.",
          ],
          [
            `Resource::${arnInFinding(this, 'glue', `table/${db}/*`)}`,
            "Athena reads the feature views' tables of the features database.",
          ],
          [
            `Resource::${arnInFinding(this, 'glue', `table/${db}/ts_*`)}`,
            'Each training set registers and drops its own ts_* temporary tables.',
          ],
        ] as const) {
          Validations.of(fn.role as iam.Role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
        }
      }
      fns[step] = fn;
    }
    // Least privilege: each step reads and writes only the prefixes it uses.
    const reads: Partial<Record<PipelineStep, string[]>> = {
      startRun: ['registry/*', 'labels/*'],
      validateData: ['registry/*', 'landing/*'],
      buildTrainingSet: ['registry/*', 'labels/*', 'offline/*'],
      planTrials: ['training-sets/*'],
      runTrial: ['training-sets/*'],
      trainCandidate: ['training-sets/*'],
      evaluateCandidate: ['training-sets/*'],
      importCandidate: ['training-sets/*', 'models/*'],
    };
    const writes: Partial<Record<PipelineStep, string[]>> = {
      validateData: ['offline/*', 'quarantine/*'],
      buildTrainingSet: ['training-sets/*'],
      // The job's channel: the training rows only.
      prepareTrainingJob: ['training-sets/*'],
    };
    for (const step of steps) {
      for (const p of reads[step] ?? []) props.featuresBucket.grantRead(fnOf(step), p);
      for (const p of writes[step] ?? []) props.featuresBucket.grantReadWrite(fnOf(step), p);
    }
    const stack = Stack.of(this);
    const bucketArn = `<${stack.getLogicalId(props.featuresBucket.node.defaultChild as CfnElement)}.Arn>`;
    for (const step of steps) {
      const acks: [string, string][] = [
        [
          props.api.invokeFinding,
          'Steps call the platform API (tracking, registry) on its MLflow routes with SigV4.',
        ],
      ];
      for (const p of [...(reads[step] ?? []), ...(writes[step] ?? [])]) {
        acks.push([
          `Resource::${bucketArn}/${p}`,
          `The ${step} step uses the ${p.replace('/*', '')} prefix of the features bucket only.`,
        ]);
      }
      if (reads[step] || writes[step]) {
        for (const a of ['s3:GetObject*', 's3:GetBucket*', 's3:List*']) {
          acks.push([`Action::${a}`, "CDK's read grant on named prefixes of the features bucket."]);
        }
      }
      if (writes[step]) {
        for (const a of ['s3:DeleteObject*', 's3:Abort*']) {
          acks.push([
            `Action::${a}`,
            "CDK's write grant on the step's own output prefixes of the features bucket.",
          ]);
        }
      }
      const role = fnOf(step).role as iam.Role;
      for (const [finding, reason] of acks)
        Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
    this.functions = fns;

    const task = (
      step: PipelineStep,
      resultPath: string | undefined,
      extra: Partial<tasks.LambdaInvokeProps> = {},
      settings: Record<string, string> = {},
    ) => {
      const t = new tasks.LambdaInvoke(
        this,
        capitalize(step)
          .replace(/([A-Z])/g, ' $1')
          .trim(),
        {
          lambdaFunction: fnOf(step),
          payloadResponseOnly: true,
          resultPath: resultPath === undefined ? sfn.JsonPath.DISCARD : resultPath,
          // Every step gets the state so far and the execution it belongs to.
          // Settings fixed at synth time ride beside them.
          payload: sfn.TaskInput.fromObject({
            state: sfn.JsonPath.entirePayload,
            execution: {
              id: sfn.JsonPath.stringAt('$$.Execution.Id'),
              name: sfn.JsonPath.stringAt('$$.Execution.Name'),
            },
            ...settings,
          }),
          taskTimeout: sfn.Timeout.duration(Duration.minutes(STEPS[step].timeout)),
          ...extra,
        },
      );
      t.addRetry({
        errors: ['Lambda.TooManyRequestsException', 'States.Timeout'],
        interval: Duration.seconds(2),
        maxAttempts: 3,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      return t;
    };

    // Failure path: mark the run FAILED (with the error), notify, fail.
    const notify = new tasks.SnsPublish(this, 'Notify Failure', {
      topic: this.failureTopic,
      subject: sfn.JsonPath.format('mlops pipeline failed: {}', sfn.JsonPath.stringAt('$$.Execution.Name')),
      message: sfn.TaskInput.fromObject({
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
        error: sfn.JsonPath.objectAt('$.error'),
        failure: sfn.JsonPath.objectAt('$.failure'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(1)),
    });
    const failed = new sfn.Fail(this, 'Pipeline Failed', {
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const markFailed = task('markFailed', '$.failure');
    markFailed.addCatch(notify, { resultPath: '$.markFailedError' });
    markFailed.next(notify);
    notify.next(failed);
    const catchAll = (t: sfn.TaskStateBase | sfn.Map | sfn.DistributedMap) =>
      t.addCatch(markFailed, { errors: ['States.ALL'], resultPath: '$.error' });

    // ResultPath + OutputPath instead of ResultPath '$' (which some local engines mishandle).
    const startRun = task('startRun', '$.start', { outputPath: '$.start' });
    const validate = task('validateData', '$.data');
    const buildSet = task('buildTrainingSet', '$.trainingSet');
    // A SageMaker trainer without built-in tuning trains the one configured trial: no search.
    const search = steps.includes('runTrial');
    const plan = task('planTrials', '$.plan', {}, search ? {} : { planning: 'configured' });
    const searchTrials = (trial: sfn.TaskStateBase): sfn.Map | sfn.DistributedMap => {
      const itemSelector = {
        'trial.$': '$$.Map.Item.Value',
        'input.$': '$.input',
        'run.$': '$.run',
        'trainingSet.$': '$.trainingSet',
      };
      const distributed = pipelineConfig.maxTrials >= pipelineConfig.distributedMapFrom;
      const map = distributed
        ? new sfn.DistributedMap(this, 'Search Trials', {
            itemsPath: '$.plan.trials',
            itemSelector,
            maxConcurrency: pipelineConfig.maxConcurrency,
            resultPath: '$.trialResults',
            mapExecutionType: sfn.StateMachineType.STANDARD,
          })
        : new sfn.Map(this, 'Search Trials', {
            itemsPath: '$.plan.trials',
            itemSelector,
            maxConcurrency: Math.min(40, pipelineConfig.maxConcurrency),
            resultPath: '$.trialResults',
          });
      return map.itemProcessor(trial);
    };
    const trials = search
      ? searchTrials(task('runTrial', '$.result', { outputPath: '$.result' }))
      : undefined;
    const evaluate = task('evaluateCandidate', '$.evaluation');
    const register = task('registerCandidate', '$.registration');
    const reject = task('recordRejection', '$.rejection');
    // Train Candidate: the built-in step, or prepare → SageMaker job (.sync) → import its model.
    let training: [sfn.TaskStateBase, ...sfn.TaskStateBase[]];
    if (trainer.kind === 'sagemaker') {
      this.sageMaker = new SageMakerTraining(this, 'SageMaker', {
        trainer,
        featuresBucket: props.featuresBucket,
        retain: config.retainData,
      });
      const importCandidate = task(
        'importCandidate',
        '$.candidate',
        {},
        // A string, so no value in the signature is read as a JSONPath.
        { signature: JSON.stringify(trainer.signature) },
      );
      this.sageMaker.key.grantDecrypt(fnOf('importCandidate'));
      training = [task('prepareTrainingJob', '$.trainingJob'), this.sageMaker.task, importCandidate];
    } else {
      training = [task('trainCandidate', '$.candidate')];
    }
    for (const t of [startRun, validate, buildSet, plan, ...(trials ? [trials] : []), ...training])
      catchAll(t);
    for (const t of [evaluate, register, reject]) catchAll(t);

    const verdict = new sfn.Choice(this, 'Promote?')
      .when(
        sfn.Condition.booleanEquals('$.evaluation.promote', true),
        register.next(new sfn.Succeed(this, 'Registered In Staging')),
      )
      .otherwise(reject.next(new sfn.Succeed(this, 'Candidate Not Promoted')));

    let chain = startRun.next(validate).next(buildSet).next(plan);
    if (trials) chain = chain.next(trials);
    for (const t of training) chain = chain.next(t);
    const definition = chain.next(evaluate).next(verdict);

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.functionDefaults.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `mlops-${config.stage}-training`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      // Room for the longest SageMaker job the configuration allows, on top of the other steps.
      timeout:
        trainer.kind === 'sagemaker'
          ? Duration.hours(5).plus(Duration.seconds(trainer.maxRuntimeSeconds)).plus(JOB_OVERHEAD)
          : Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    const smRole = this.stateMachine.role as iam.Role;
    Validations.of(smRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions' +
        (this.sageMaker
          ? '; nor does sagemaker:ListTags, which the .sync SageMaker integration calls.'
          : '.'),
    });
    if (this.sageMaker) {
      Validations.of(smRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/*]',
        reason:
          'Each execution names its own training job (mlops-<execution>-<hash>), so the job ARN is only known at run time.',
      });
    }
    for (const fn of Object.values(fns)) {
      const id = stack.getLogicalId(fn.node.defaultChild as CfnElement);
      Validations.of(smRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
        reason: "LambdaInvoke grants the function's versions and aliases (Function:*), this function only.",
      });
    }

    const baseInput = {
      featureService: pipelineConfig.featureService,
      entityRows: pipelineConfig.entityRows,
      label: pipelineConfig.label,
      modelName: pipelineConfig.modelName,
      training: {
        algorithm: pipelineConfig.algorithm,
        strategy: pipelineConfig.strategy,
        maxTrials: pipelineConfig.maxTrials,
      },
    };
    this.scheduleRule = new events.Rule(this, 'Schedule', {
      description: 'Retrains on a schedule',
      schedule: events.Schedule.expression(config.pipelineSchedule),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({
            ...baseInput,
            trigger: 'schedule',
            reason: config.pipelineSchedule,
          }),
        }),
      ],
    });
    const drift = props.driftEvent ?? DRIFT_EVENT;
    this.driftRule = new events.Rule(this, 'DriftTrigger', {
      description: 'Retrains when monitoring detects drift',
      eventPattern: { source: [drift.source], detailType: [drift.detailType] },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({
            ...baseInput,
            trigger: 'drift',
            reason: events.EventField.fromPath('$.detail.reason'),
          }),
        }),
      ],
    });
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
