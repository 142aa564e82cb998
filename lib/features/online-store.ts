import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { onlineFeatureRoutes } from '../../lambdas/features/online/routes';
import type { IPlatformApi } from '../api/platform-api';
import { NATIVE_MODULES } from '../private/native-layer';
import { PlatformFunction } from '../private/platform-function';
import { SecureTable } from '../private/secure-table';

/** Common function props (service name, stage, log retention) the platform hands each area. */
export type FunctionDefaults = (serviceName: string) => {
  serviceName: string;
  stage: string;
  logRetentionDays: logs.RetentionDays;
};

export interface FeatureOnlineStoreProps {
  readonly api: IPlatformApi;
  readonly functionDefaults: FunctionDefaults;
  /** The features bucket (registry, offline store). */
  readonly bucket: s3.IBucket;
  /** Keep the table when the stack is deleted. @default true */
  readonly retain?: boolean;
  /** How often incremental materialization runs. @default 1 hour */
  readonly schedule?: events.Schedule;
  /** Chunks materialized at once by the Map state. @default 10 */
  readonly maxConcurrency?: number;
  /** The layer with DuckDB's native bindings (both functions run DuckDB). */
  readonly nativeLayer: lambda.ILayerVersion;
  /** Ephemeral storage (/tmp) of both functions, for DuckDB's spill files, in MiB. @default 2048 */
  readonly ephemeralStorageMiB?: number;
}

/**
 * The online store: one DynamoDB table (items per view and entity key, TTL attribute
 * `expires_at`), the API function for `get-online-features` and `push`, and incremental
 * materialization: an EventBridge schedule starts a state machine that plans every view's run,
 * materializes its chunks in a Map (one Lambda invocation each) and then moves the watermarks.
 * Alarms fire on table throttling and on failed materializations.
 */
export class FeatureOnlineStore extends Construct {
  readonly table: dynamodb.Table;
  readonly api: PlatformFunction;
  readonly materializer: PlatformFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: FeatureOnlineStoreProps) {
    super(scope, id);
    this.table = new SecureTable(this, 'Table', {
      localName: 'features-online',
      timeToLiveAttribute: 'expires_at',
      retain: props.retain,
    }).table;
    const environment = { FEATURES_BUCKET: props.bucket.bucketName, ONLINE_TABLE: this.table.tableName };
    this.api = new PlatformFunction(this, 'Api', {
      ...props.functionDefaults('features-online'),
      entry: 'lambdas/features/online/handler.ts',
      memorySize: 1024,
      timeout: Duration.seconds(29),
      externalModules: NATIVE_MODULES,
      layers: [props.nativeLayer],
      environment,
    });
    this.table.grantReadWriteData(this.api.fn);
    // Least privilege: exact actions on the prefixes each function uses (CDK's prefix grants
    // would add GetObject*, List*, DeleteObject* and more). Pushes to the offline store read
    // and commit batches under offline/ and quarantine refused ones (never delete).
    grantObjects(this.api.fn, props.bucket, {
      read: ['registry/', 'offline/'],
      write: ['offline/', 'quarantine/'],
      list: true,
    });
    props.api.addRoutes(this.api.fn, onlineFeatureRoutes);

    this.materializer = new PlatformFunction(this, 'Materialize', {
      ...props.functionDefaults('features-materialize'),
      entry: 'lambdas/features/online/materialize-handler.ts',
      memorySize: 2048,
      timeout: Duration.minutes(15),
      externalModules: NATIVE_MODULES,
      layers: [props.nativeLayer],
      environment,
    });
    this.table.grantReadWriteData(this.materializer.fn);
    for (const fn of [this.api.fn, this.materializer.fn]) {
      (fn.node.defaultChild as lambda.CfnFunction).ephemeralStorage = {
        size: props.ephemeralStorageMiB ?? 2048,
      };
    }
    grantObjects(this.materializer.fn, props.bucket, { read: ['registry/', 'offline/'], list: true });

    const invoke = (name: string, payload?: sfn.TaskInput, resultPath?: string) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: this.materializer.fn,
        payloadResponseOnly: true,
        ...(payload ? { payload } : {}),
        ...(resultPath ? { resultPath } : {}),
        retryOnServiceExceptions: true,
      });
    // Without a payload the task gets the execution input as is ({action: 'plan', ...}).
    const plan = invoke('Plan', undefined, '$.plan');
    plan.addRetry({ errors: ['States.TaskFailed'], maxAttempts: 2, interval: Duration.seconds(10) });
    // Each item names its run by index ({run, chunk}): the run is in the state once, not per chunk.
    const chunks = new sfn.Map(this, 'Chunks', {
      itemsPath: '$.plan.tasks',
      itemSelector: {
        action: 'chunk',
        'run.$': 'States.ArrayGetItem($.plan.runs, $$.Map.Item.Value.run)',
        'chunk.$': '$$.Map.Item.Value.chunk',
      },
      maxConcurrency: props.maxConcurrency ?? 10,
      resultPath: sfn.JsonPath.DISCARD,
    });
    // The Map gathers every chunk's result before discarding them: keep each one small.
    const chunk = new tasks.LambdaInvoke(this, 'Chunk', {
      lambdaFunction: this.materializer.fn,
      payloadResponseOnly: true,
      resultSelector: { 'written.$': '$.written' },
      retryOnServiceExceptions: true,
    });
    chunk.addRetry({ errors: ['States.ALL'], maxAttempts: 3, interval: Duration.seconds(5), backoffRate: 2 });
    chunks.itemProcessor(chunk);
    const finish = invoke(
      'Finish',
      sfn.TaskInput.fromObject({ action: 'finish', runs: sfn.JsonPath.listAt('$.plan.runs') }),
    );
    const logGroup = new logs.LogGroup(this, 'MaterializeLogs', {
      retention: props.functionDefaults('features-materialize').logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Materialization', {
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(chunks).next(finish)),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      timeout: Duration.hours(2),
      tracingEnabled: true,
      // Execution data is run windows, chunk numbers and counts: no feature values.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    this.acknowledgeFindings(props.bucket);
    new events.Rule(this, 'Schedule', {
      description: 'Incremental materialization of every feature view into the online store',
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({ action: 'plan' }),
        }),
      ],
    });

    const alarm = (name: string, metric: cloudwatch.IMetric, description: string) =>
      new cloudwatch.Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    const period = Duration.minutes(5);
    this.alarms = [
      alarm(
        'ReadThrottles',
        this.table.metric('ReadThrottleEvents', { statistic: 'Sum', period }),
        'Online store reads throttled',
      ),
      alarm(
        'WriteThrottles',
        this.table.metric('WriteThrottleEvents', { statistic: 'Sum', period }),
        'Online store writes throttled',
      ),
      alarm(
        'MaterializationFailed',
        this.stateMachine.metricFailed({ period }),
        'A materialization run failed',
      ),
      alarm(
        'MaterializationTimedOut',
        this.stateMachine.metricTimedOut({ period }),
        'A materialization run timed out',
      ),
    ];
  }

  /**
   * cdk-nag IAM5 findings that remain after least privilege, each acknowledged on its role
   * with the reason; logical ids are computed so a renamed construct cannot hide a new finding.
   */
  private acknowledgeFindings(bucket: s3.IBucket): void {
    const stack = Stack.of(this);
    const cfnBucket = bucket.node.defaultChild as CfnElement | undefined;
    const bucketArn = cfnBucket ? `<${stack.getLogicalId(cfnBucket)}.Arn>` : bucket.bucketArn;
    const prefixes: [PlatformFunction, string, string][] = [
      [this.api, 'registry/', 'reads the feature registry (one object)'],
      [this.api, 'offline/', 'reads manifests and commits pushed batches of the offline store'],
      [this.api, 'quarantine/', 'writes refused pushed batches for review'],
      [this.materializer, 'registry/', 'reads the feature registry (one object)'],
      [this.materializer, 'offline/', 'reads the committed offline batches it materializes'],
    ];
    for (const [fn, prefix, why] of prefixes) {
      Validations.of(fn.fn.role as iam.Role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${bucketArn}/${prefix}*]`,
        reason: `The function ${why}: objects under ${prefix} of the features bucket only, exact actions.`,
      });
    }
    const smRole = this.stateMachine.role as iam.Role;
    Validations.of(smRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
    });
    const fnId = stack.getLogicalId(this.materializer.fn.node.defaultChild as CfnElement);
    Validations.of(smRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
      reason: "LambdaInvoke grants the function's versions and aliases (Function:*), this function only.",
    });
  }
}

/**
 * Grants exact S3 actions on key prefixes: GetObject (and so HeadObject) to read, PutObject to
 * write. `list` adds ListBucket on the bucket (key names only), without a prefix condition:
 * S3 answers a GET or HEAD of a missing key with 404 only to callers that may list, and the
 * s3:prefix key is absent from those requests, so a condition would turn every 404 into 403.
 */
function grantObjects(
  grantee: iam.IGrantable,
  bucket: s3.IBucket,
  access: { read?: readonly string[]; write?: readonly string[]; list?: boolean },
): iam.Grant[] {
  const objects = (actions: string[], prefixes: readonly string[] = []) =>
    prefixes.length === 0
      ? []
      : [
          iam.Grant.addToPrincipal({
            grantee,
            actions,
            resourceArns: prefixes.map((p) => bucket.arnForObjects(`${p}*`)),
          }),
        ];
  const list = access.list
    ? [iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [bucket.bucketArn] })]
    : [];
  return [...objects(['s3:GetObject'], access.read), ...objects(['s3:PutObject'], access.write), ...list];
}
