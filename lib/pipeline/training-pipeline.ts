import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { DRIFT_EVENT } from '../../lambdas/monitoring/job/drift-event';
import { INLINE_MAX_TRIALS, type PipelineState, TRIAL_RESULTS_PREFIX } from '../../lambdas/pipeline/contract';
import type { IPlatformApi } from '../api/platform-api';
import type { PlatformConfig } from '../config';
import type { IFeatureOfflineStore } from '../features/offline-store';
import { arnAttrInFinding, arnInFinding } from '../private/nag-findings';
import { NATIVE_MODULES } from '../private/native-layer';
import { PlatformFunction, type PlatformFunctionProps } from '../private/platform-function';
import { JOB_OVERHEAD, SageMakerTraining } from './sagemaker-training';

/** A part of the pipeline's state a step may be given. */
type StatePart = keyof PipelineState;

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
  /** Where failure notices go (the platform's alert topic). @default - a topic of its own */
  readonly failureTopic?: sns.ITopic;
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

/** Steps that only talk to the platform API: they need no scratch space. */
const NO_DATA_STEPS: ReadonlySet<PipelineStep> = new Set([
  'startRun',
  'registerCandidate',
  'recordRejection',
  'markFailed',
]);

/** The steps a pipeline has for its trainer (a SageMaker job replaces the built-in training step). */
export function pipelineSteps(trainer: PlatformConfig['pipeline']['trainer']): PipelineStep[] {
  const all = Object.keys(STEPS) as PipelineStep[];
  if (trainer.kind === 'builtin')
    return all.filter((s) => s !== 'prepareTrainingJob' && s !== 'importCandidate');
  return all.filter((s) => s !== 'trainCandidate' && (s !== 'runTrial' || trainer.tuneWithBuiltin));
}

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
  readonly failureTopic: sns.ITopic;
  /** The Lambda function of each step the configured trainer uses. */
  readonly functions: Partial<Record<PipelineStep, lambda.Function>>;
  /** The SageMaker job's role, key and task, when the trainer is a SageMaker job. */
  readonly sageMaker?: SageMakerTraining;
  readonly scheduleRule: events.Rule;
  readonly driftRule: events.Rule;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    // The Distributed Map's ResultWriterV2 renders only under this flag (set here, before any child).
    this.node.setContext(cxapi.STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const { config } = props;
    const pipelineConfig = config.pipeline;
    const trainer = pipelineConfig.trainer;
    const steps = pipelineSteps(trainer);

    this.failureTopic =
      props.failureTopic ??
      new sns.Topic(this, 'Failures', {
        displayName: `mlops ${config.stage} pipeline failures`,
        enforceSSL: true,
        masterKey: undefined,
      });
    if (!props.failureTopic)
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
      // Steps that read data copy it to /tmp, and DuckDB spills there.
      if (!NO_DATA_STEPS.has(step))
        (fn.node.defaultChild as lambda.CfnFunction).ephemeralStorage = { size: config.ephemeralStorageMiB };
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
      // The Distributed Map's trial results (manifest and result files).
      trainCandidate: ['training-sets/*', `${TRIAL_RESULTS_PREFIX}/*`],
      evaluateCandidate: ['training-sets/*'],
      importCandidate: ['training-sets/*', 'models/*'],
    };
    if (trainer.kind === 'sagemaker' && trainer.tuneWithBuiltin)
      reads.prepareTrainingJob = [`${TRIAL_RESULTS_PREFIX}/*`];
    const writes: Partial<Record<PipelineStep, string[]>> = {
      validateData: ['offline/*', 'quarantine/*'],
      buildTrainingSet: ['training-sets/*'],
      // The plan of a search too large for the state (the Distributed Map reads it).
      planTrials: ['training-sets/*'],
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

    /**
     * A Lambda step. `needs` names the parts of the state the step reads: each task gets only
     * those (never the whole state, which could near the 256 KB limit), plus the execution it
     * belongs to and settings fixed at synth time. `'all'` passes the state as it is: the
     * first step (the raw input) and the failure path (whatever the state held when it failed).
     */
    const task = (
      step: PipelineStep,
      resultPath: string | undefined,
      needs: readonly StatePart[] | 'all',
      extra: Partial<tasks.LambdaInvokeProps> = {},
      settings: Record<string, string> = {},
    ) => {
      const state =
        needs === 'all'
          ? sfn.JsonPath.entirePayload
          : Object.fromEntries(needs.map((part) => [part, sfn.JsonPath.objectAt(`$.${part}`)]));
      const t = new tasks.LambdaInvoke(
        this,
        capitalize(step)
          .replace(/([A-Z])/g, ' $1')
          .trim(),
        {
          lambdaFunction: fnOf(step),
          payloadResponseOnly: true,
          resultPath: resultPath === undefined ? sfn.JsonPath.DISCARD : resultPath,
          payload: sfn.TaskInput.fromObject({
            state,
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

    // Failure path: mark the run FAILED (with the error), notify, fail. Every way into it
    // sets $.error; the notice never depends on a step of the failure path having worked.
    const notice = (id: string, message: Record<string, unknown>) => {
      const publish = new tasks.SnsPublish(this, id, {
        topic: this.failureTopic,
        subject: sfn.JsonPath.format('mlops pipeline failed: {}', sfn.JsonPath.stringAt('$$.Execution.Name')),
        message: sfn.TaskInput.fromObject({
          execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
          error: sfn.JsonPath.objectAt('$.error'),
          ...message,
        }),
        resultPath: sfn.JsonPath.DISCARD,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(1)),
      });
      publish.addRetry({
        errors: ['States.ALL'],
        interval: Duration.seconds(2),
        maxAttempts: 3,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      return publish;
    };
    const failed = new sfn.Fail(this, 'Pipeline Failed', {
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const notify = notice('Notify Failure', { failure: sfn.JsonPath.objectAt('$.failure') });
    // When Mark Failed itself fails there is no $.failure: this notice says so from the error alone.
    const notifyUnmarked = notice('Notify Failure Run Not Marked', {
      markFailedError: sfn.JsonPath.objectAt('$.markFailedError'),
      note: 'The run could not be marked FAILED in tracking; it may still show as RUNNING.',
    });
    const markFailed = task('markFailed', '$.failure', 'all');
    markFailed.addCatch(notifyUnmarked, { resultPath: '$.markFailedError' });
    markFailed.next(notify);
    // An undeliverable notice still ends the execution as FAILED with the pipeline's error.
    for (const n of [notify, notifyUnmarked])
      n.addCatch(failed, { resultPath: '$.notifyError' }).next(failed);
    const catchAll = (t: sfn.TaskStateBase | sfn.Map | sfn.DistributedMap) =>
      t.addCatch(markFailed, { errors: ['States.ALL'], resultPath: '$.error' });

    // ResultPath + OutputPath instead of ResultPath '$' (which some local engines mishandle).
    const startRun = task('startRun', '$.start', 'all', { outputPath: '$.start' });
    const validate = task('validateData', '$.data', ['input', 'run']);
    const buildSet = task('buildTrainingSet', '$.trainingSet', ['input', 'run']);
    // A SageMaker trainer without built-in tuning trains the one configured trial: no search.
    const search = steps.includes('runTrial');
    // Many trials run in a Distributed Map that reads the plan from S3 and writes the trials'
    // results there, so neither list enters the state; an inline Map keeps both in the state.
    const distributed = search && pipelineConfig.maxTrials >= pipelineConfig.distributedMapFrom;
    if (search && !distributed && pipelineConfig.maxTrials > INLINE_MAX_TRIALS) {
      throw new Error(
        `pipeline.maxTrials is ${pipelineConfig.maxTrials}, but an inline Map holds at most ${INLINE_MAX_TRIALS} trials ` +
          `(its plan and results ride in the 256 KB state); set pipeline.distributedMapFrom to at most ${INLINE_MAX_TRIALS}`,
      );
    }
    const planSettings: Record<string, string> = search
      ? { planning: 'search', trialsIn: distributed ? 'object' : 'state' }
      : { planning: 'configured', trialsIn: 'state' };
    const plan = task('planTrials', '$.plan', ['input', 'run', 'trainingSet'], {}, planSettings);
    const searchTrials = (trial: sfn.TaskStateBase): sfn.Map | sfn.DistributedMap => {
      const itemSelector = {
        'trial.$': '$$.Map.Item.Value',
        'input.$': '$.input',
        'run.$': '$.run',
        'trainingSet.$': '$.trainingSet',
      };
      const map = distributed
        ? new sfn.DistributedMap(this, 'Search Trials', {
            itemReader: new PlanReader(props.featuresBucket, '$.plan.trialsKey'),
            itemSelector,
            maxConcurrency: pipelineConfig.maxConcurrency,
            // Each trial's outcome goes to S3 (a manifest and result files); the state keeps the manifest's key.
            resultWriterV2: new ResultsWriter(props.featuresBucket),
            resultSelector: { 'manifest.$': '$.ResultWriterDetails.Key' },
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
    // The trial's payload is the Map item as a whole: the item selector already picked it.
    const trials = search
      ? searchTrials(task('runTrial', '$.result', 'all', { outputPath: '$.result' }))
      : undefined;
    const evaluate = task('evaluateCandidate', '$.evaluation', ['input', 'run', 'trainingSet', 'candidate']);
    const register = task('registerCandidate', '$.registration', ['input', 'run']);
    const reject = task('recordRejection', '$.rejection', ['run', 'evaluation']);
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
        ['input', 'run', 'trainingSet', 'plan', 'trainingJob', 'trainedJob'],
        {},
        // A string, so no value in the signature is read as a JSONPath.
        { signature: JSON.stringify(trainer.signature) },
      );
      this.sageMaker.key.grantDecrypt(fnOf('importCandidate'));
      const prepare = task('prepareTrainingJob', '$.trainingJob', [
        'input',
        'run',
        'trainingSet',
        'plan',
        ...(search ? (['trialResults'] as const) : []),
      ]);
      training = [prepare, this.sageMaker.task, importCandidate];
    } else {
      training = [
        task('trainCandidate', '$.candidate', ['input', 'run', 'trainingSet', 'plan', 'trialResults']),
      ];
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
        // Named as cdk-nag names it: pseudo parameters for an env-agnostic stack, literally for a bound one.
        id: `AwsSolutions-IAM5[Resource::${arnInFinding(this, 'sagemaker', 'training-job/*')}]`,
        reason:
          'Each execution names its own training job (mlops-<execution>-<hash>), so the job ARN is only known at run time.',
      });
    }
    if (distributed) this.acknowledgeDistributedMap(props.featuresBucket);
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

  /**
   * cdk-nag findings of the Distributed Map: it starts and stops child executions of this
   * state machine, reads the plan object and writes the results under their prefixes.
   */
  private acknowledgeDistributedMap(bucket: s3.IBucket): void {
    const stack = Stack.of(this);
    const machineId = stack.getLogicalId(this.stateMachine.node.defaultChild as CfnElement);
    // CDK names the child executions by the machine's name, split out of its ARN.
    const machineName = JSON.stringify({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: machineId }] }] });
    const reason =
      'The Distributed Map starts, describes and stops child executions of this state machine only; their names are chosen at run time.';
    for (const resource of [`execution:${machineName}:*`, `execution:${machineName}/*:*`]) {
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${arnInFinding(this, 'states', resource)}]`,
        reason,
      });
    }
    const bucketArn = arnAttrInFinding(bucket);
    const findings: [string, string][] = [
      [
        `Resource::${bucketArn}/${PLAN_PREFIX}*`,
        "The Distributed Map's item reader gets the plan object Plan Trials wrote for the execution (its key is chosen at run time).",
      ],
      [
        `Resource::${bucketArn}/${TRIAL_RESULTS_PREFIX}/*`,
        "The Distributed Map's result writer puts a manifest and result files named by the map run under its own prefix only.",
      ],
    ];
    for (const [finding, why] of findings)
      Validations.of(this.stateMachine).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: why });
  }
}

/** Where Plan Trials writes the plan of a large search (`training-sets/<execution>/trials.json`). */
const PLAN_PREFIX = 'training-sets/';

/** The Distributed Map's item reader, allowed to read the plans' prefix only (CDK's grants the whole bucket). */
class PlanReader extends sfn.S3JsonItemReader {
  constructor(
    private readonly planBucket: s3.IBucket,
    keyPath: string,
  ) {
    super({ bucket: planBucket, key: sfn.JsonPath.stringAt(keyPath) });
  }

  override providePolicyStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.planBucket.arnForObjects(`${PLAN_PREFIX}*`)],
      }),
    ];
  }
}

/** The Distributed Map's result writer, allowed to write its own prefix only (CDK's grants the whole bucket). */
class ResultsWriter extends sfn.ResultWriterV2 {
  constructor(private readonly resultsBucket: s3.IBucket) {
    super({ bucket: resultsBucket, prefix: TRIAL_RESULTS_PREFIX });
  }

  override providePolicyStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        resources: [this.resultsBucket.arnForObjects(`${TRIAL_RESULTS_PREFIX}/*`)],
      }),
    ];
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
