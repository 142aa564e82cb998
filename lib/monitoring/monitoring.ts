import { type CfnElement, Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { DriftConfigInput } from '../../lambdas/monitoring/drift/config';
import { DRIFT_EVENT } from '../../lambdas/monitoring/job/drift-event';
import { MONITORING_NAMESPACE } from '../../lambdas/monitoring/job/metrics';
import { REPORTS_PREFIX } from '../../lambdas/monitoring/job/report-keys';
import { PREDICTION_LOG_FILTER, PREDICTIONS_PREFIX } from '../../lambdas/monitoring/log/log-store';
import { PREDICTION_LOG_COLUMNS } from '../../lambdas/monitoring/log/log-table';
import { SERVING_NAMESPACE } from '../../lambdas/serving/domain/prediction-log';
import type { FunctionDefaults } from '../features/online-store';
import { NATIVE_MODULES } from '../private/native-layer';
import { PlatformFunction } from '../private/platform-function';
import { SecureBucket } from '../private/secure-bucket';

/** Prefix of the drift job's Athena query results in the monitoring bucket. */
const ATHENA_RESULTS_PREFIX = 'athena-results';

export interface DriftMonitoringProps {
  readonly stage: string;
  readonly functionDefaults: FunctionDefaults;
  /** The predict function: its log group is subscribed to, its metrics are on the dashboard. */
  readonly predictFunction: lambda.Function;
  /** The served model: the job reads its log, the alarms and dashboard watch it. */
  readonly modelName: string;
  /** The tracking table (registry and runs) and artifacts bucket, where each version's profile is. */
  readonly trackingTable: dynamodb.ITable;
  readonly artifacts: s3.IBucket;
  /** Bucket receiving the monitoring bucket's access logs. */
  readonly accessLogs: s3.IBucket;
  /** When the drift job runs (EventBridge expression). @default rate(1 hour) */
  readonly schedule?: string;
  /** Hours of log each run compares, ending at the run. @default 24 */
  readonly windowHours?: number;
  /** Per-feature methods and thresholds, minSamples, driftShare (lambdas/monitoring/drift/config.ts). @default {} */
  readonly drift?: DriftConfigInput;
  /** PSI above which a judged feature or the prediction drifts (`alarms.driftPsi`). @default 0.2 */
  readonly driftPsi?: number;
  /** Days stored predictions and reports are kept. @default 400 */
  readonly retentionDays?: number;
  /** Keep the bucket when the stack is deleted. @default true */
  readonly retain?: boolean;
  /**
   * Rows of one version's window above which the drift job aggregates it in Athena instead of
   * streaming it through the function. @default 10_000_000
   */
  readonly aggregateRows?: number;
  /** Athena stops a drift query after scanning this many bytes. @default 100 GiB */
  readonly bytesScannedCutoffPerQuery?: number;
  /**
   * The native modules layer: locally the job aggregates with DuckDB, which the bundle then
   * takes from the layer rather than from the bundle (on AWS the job uses Athena).
   */
  readonly nativeLayer: lambda.ILayerVersion;
}

/** What other constructs may depend on (delayed-label performance reads the log and alarms). */
export interface IDriftMonitoring {
  /** Holds the prediction log (`predictions/`) and the drift reports (`reports/`). */
  readonly bucket: s3.IBucket;
  /** The Glue database and table over the prediction log (Athena). */
  readonly databaseName: string;
  readonly logTableName: string;
  /** The predict function's log group, which the shipper subscribes to. */
  readonly predictLogGroup: logs.ILogGroup;
  /** The log shipper: add a PredictionSink's resources and variables to it. */
  readonly shipper: lambda.Function;
  /** In ALARM while any of the model's drift alarms is. */
  readonly driftAlarm: cloudwatch.IAlarm;
}

/**
 * Drift monitoring of the served model: the prediction log stored in S3 by a shipper
 * subscribed to the predict function's log group (gzipped NDJSON under
 * `predictions/model=<m>/date=<yyyy-mm-dd>/`, with a Glue table using partition projection
 * for Athena); the drift job, a one-step state machine on an EventBridge schedule that
 * compares the window's traffic of each version with its baseline profile, emits metrics,
 * writes reports under `reports/` and publishes `DriftDetected` (the training pipeline's
 * drift rule retrains on it); alarms on the drifted share, the largest feature PSI and the
 * prediction's PSI, combined in `driftAlarm`; and a dashboard.
 *
 * @example
 * const monitoring = new DriftMonitoring(this, 'Monitoring', { stage, functionDefaults, predictFunction, modelName: 'churn', trackingTable, artifacts, accessLogs });
 * monitoring.shipper.addEnvironment('MY_SINK_TABLE', table.tableName);
 */
export class DriftMonitoring extends Construct implements IDriftMonitoring {
  readonly bucket: s3.Bucket;
  readonly databaseName: string;
  readonly logTableName = 'predictions';
  readonly logTable: glue.CfnTable;
  readonly predictLogGroup: logs.ILogGroup;
  readonly shipper: lambda.Function;
  readonly jobFunction: lambda.Function;
  /** Athena workgroup of the drift job's large-window queries (results encrypted in the bucket). */
  readonly workGroupName: string;
  /** Runs the drift job: on the schedule, and from `mlops monitor run`. */
  readonly stateMachine: sfn.StateMachine;
  readonly driftedShareAlarm: cloudwatch.Alarm;
  readonly featurePsiAlarm: cloudwatch.Alarm;
  readonly predictionShiftAlarm: cloudwatch.Alarm;
  readonly driftAlarm: cloudwatch.CompositeAlarm;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DriftMonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const driftPsi = props.driftPsi ?? 0.2;
    const driftShare = props.drift?.driftShare ?? 0.5;
    const windowHours = props.windowHours ?? 24;
    if (!(windowHours > 0)) throw new Error(`monitoring.windowHours must be positive, got ${windowHours}`);
    const model = props.modelName;

    this.bucket = new SecureBucket(this, 'Bucket', {
      localName: 'monitoring',
      accessLogs: props.accessLogs,
      retain: props.retain,
    }).bucket;
    this.bucket.addLifecycleRule({
      id: 'expire-monitoring-data',
      expiration: Duration.days(props.retentionDays ?? 400),
    });
    // Query results are scratch: the job reads them once.
    this.bucket.addLifecycleRule({
      id: 'expire-athena-results',
      prefix: `${ATHENA_RESULTS_PREFIX}/`,
      expiration: Duration.days(7),
    });

    // The Glue table: one JSON object per line; partition projection on model (injected:
    // every query names its model) and date, so no crawler or partition registration.
    this.databaseName = `monitoring_${props.stage.replaceAll('-', '_')}`;
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: this.databaseName, description: 'Prediction log of the served models' },
    });
    const location = `s3://${this.bucket.bucketName}/${PREDICTIONS_PREFIX}/`;
    this.logTable = new glue.CfnTable(this, 'PredictionsTable', {
      catalogId: stack.account,
      databaseName: this.databaseName,
      tableInput: {
        name: this.logTableName,
        description: 'One row per scored row of the predict function (lambdas/monitoring/log/log-store.ts)',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          'projection.enabled': 'true',
          'projection.model.type': 'injected',
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy-MM-dd',
          'projection.date.range': '2024-01-01,NOW',
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          'storage.location.template': `${location}model=\${model}/date=\${date}/`,
        },
        partitionKeys: [
          { name: 'model', type: 'string' },
          { name: 'date', type: 'string' },
        ],
        storageDescriptor: {
          location,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            // The files also carry `model` (a partition here): the SerDe maps fields by name.
            parameters: { 'ignore.malformed.json': 'true', 'case.insensitive': 'true' },
          },
          columns: PREDICTION_LOG_COLUMNS.map((c) => ({ name: c.name, type: c.glue, comment: c.comment })),
        },
      },
    });
    this.logTable.node.addDependency(database);

    // The shipper: the predict function's prediction lines, as CloudWatch Logs delivers them.
    this.shipper = new PlatformFunction(this, 'LogShipper', {
      ...props.functionDefaults('monitoring'),
      entry: 'lambdas/monitoring/log/shipper-handler.ts',
      memorySize: 512,
      timeout: Duration.minutes(2),
      environment: { MONITORING_BUCKET: this.bucket.bucketName },
    }).fn;
    // Exact actions rather than grantPut's (legal holds, retention, tagging, abort).
    iam.Grant.addToPrincipal({
      grantee: this.shipper,
      actions: ['s3:PutObject'],
      resourceArns: [this.bucket.arnForObjects(`${PREDICTIONS_PREFIX}/*`)],
    });
    const predictLogGroup = props.predictFunction.logGroup;
    this.predictLogGroup = predictLogGroup;
    new logs.SubscriptionFilter(this, 'PredictionLog', {
      logGroup: predictLogGroup,
      destination: new destinations.LambdaDestination(this.shipper),
      // Successful requests only: a 4xx names whatever model the caller sent, and storing it
      // would add partitions for models that do not exist; failures are counted by serving's metrics.
      filterPattern: logs.FilterPattern.literal(PREDICTION_LOG_FILTER),
    });

    // Athena for windows too large for one function: results encrypted, settings enforced.
    this.workGroupName = `monitoring-${props.stage}`;
    const cutoff = props.bytesScannedCutoffPerQuery ?? 100 * 1024 ** 3;
    if (cutoff < 10_000_000)
      throw new Error('DriftMonitoring: bytesScannedCutoffPerQuery must be at least 10 MB');
    const aggregateRows = props.aggregateRows ?? 10_000_000;
    if (!(Number.isInteger(aggregateRows) && aggregateRows > 0)) {
      throw new Error(`monitoring.aggregateRows must be a positive integer, got ${aggregateRows}`);
    }
    new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: "Drift job: a large window's aggregates over the prediction log",
      state: 'ENABLED',
      // Query history only (results live in the bucket): deleting the stack must not fail on it.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoff,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: this.bucket.s3UrlForObject(`${ATHENA_RESULTS_PREFIX}/`),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    // The drift job: reads the log and writes reports in the bucket, reads profiles in the
    // registry's runs, publishes DriftDetected to the default bus.
    this.jobFunction = new PlatformFunction(this, 'DriftJob', {
      ...props.functionDefaults('monitoring'),
      entry: 'lambdas/monitoring/job/handler.ts',
      layers: [props.nativeLayer],
      externalModules: NATIVE_MODULES,
      // Bounded by the sketches: about 470 MiB at 10M rows × 20 features (docs/monitoring.md).
      memorySize: 2048,
      timeout: Duration.minutes(15),
      environment: {
        MONITORING_BUCKET: this.bucket.bucketName,
        ARTIFACTS_BUCKET: props.artifacts.bucketName,
        TABLE: props.trackingTable.tableName,
        MODELS: model,
        WINDOW_HOURS: String(windowHours),
        DRIFT_PSI: String(driftPsi),
        DRIFT_CONFIG: JSON.stringify(props.drift ?? {}),
        AGGREGATE_ROWS: String(aggregateRows),
        ATHENA_WORKGROUP: this.workGroupName,
        LOG_DATABASE: this.databaseName,
        LOG_TABLE: this.logTableName,
      },
    }).fn;
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['s3:GetObject'],
      resourceArns: [this.bucket.arnForObjects(`${PREDICTIONS_PREFIX}/*`)],
    });
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['s3:GetObject', 's3:PutObject'],
      resourceArns: [this.bucket.arnForObjects(`${REPORTS_PREFIX}/*`)],
    });
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: {
        StringLike: {
          's3:prefix': [`${PREDICTIONS_PREFIX}/*`, `${REPORTS_PREFIX}/*`, `${ATHENA_RESULTS_PREFIX}/*`],
        },
      },
    });
    // Athena runs the queries with the caller's rights: the workgroup, the log's Glue table,
    // the log's objects (above) and the results prefix.
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
        'athena:GetWorkGroup',
      ],
      resourceArns: [
        stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workGroupName }),
      ],
    });
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      resourceArns: [
        stack.formatArn({ service: 'glue', resource: 'catalog' }),
        stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName }),
        stack.formatArn({
          service: 'glue',
          resource: 'table',
          resourceName: `${this.databaseName}/${this.logTableName}`,
        }),
      ],
    });
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resourceArns: [this.bucket.arnForObjects(`${ATHENA_RESULTS_PREFIX}/*`)],
    });
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
      resourceArns: [this.bucket.bucketArn],
    });
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resourceArns: [props.trackingTable.tableArn],
    });
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['s3:GetObject'],
      resourceArns: [props.artifacts.arnForObjects('*')],
    });
    iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['events:PutEvents'],
      resourceArns: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
    });

    // Size the window first (one count query), then stream it through the function or, past
    // aggregateRows rows of a version, aggregate it in Athena (DuckDB locally).
    const size = new tasks.LambdaInvoke(this, 'Size Window', {
      lambdaFunction: this.jobFunction,
      payload: sfn.TaskInput.fromObject({ step: 'size', request: sfn.JsonPath.entirePayload }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });
    const stepInput = (step: 'stream' | 'sql') =>
      sfn.TaskInput.fromObject({
        step,
        models: sfn.JsonPath.listAt('$.models'),
        windowHours: sfn.JsonPath.numberAt('$.windowHours'),
        to: sfn.JsonPath.numberAt('$.to'),
      });
    const stream = new tasks.LambdaInvoke(this, 'Detect Drift', {
      lambdaFunction: this.jobFunction,
      payload: stepInput('stream'),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });
    const aggregate = new tasks.LambdaInvoke(this, 'Aggregate Window In SQL', {
      lambdaFunction: this.jobFunction,
      payload: stepInput('sql'),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });
    const run = size.next(
      new sfn.Choice(this, 'Window Too Large?')
        .when(sfn.Condition.booleanEquals('$.aggregate', true), aggregate)
        .otherwise(stream),
    );
    const executionLogs = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.functionDefaults('monitoring').logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'DriftJobMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(run),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      // Two function steps of up to 15 minutes each (the sizing query, then the comparison).
      timeout: Duration.minutes(45),
      tracingEnabled: true,
      logs: { destination: executionLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    new events.Rule(this, 'Schedule', {
      description: `Compares ${model}'s logged traffic with its baseline profile`,
      schedule: events.Schedule.expression(props.schedule ?? 'rate(1 hour)'),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({ windowHours }),
        }),
      ],
    });

    // Alarms per model: the job emits each metric under [model] too, whichever version
    // served. Missing data (a run without a verdict) keeps the state.
    const metric = (name: string) =>
      new cloudwatch.Metric({
        namespace: MONITORING_NAMESPACE,
        metricName: name,
        dimensionsMap: { model },
        statistic: 'Maximum',
        period: Duration.hours(1),
      });
    const alarm = (
      alarmId: string,
      name: string,
      threshold: number,
      op: cloudwatch.ComparisonOperator,
      what: string,
    ) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric: metric(name),
        threshold,
        comparisonOperator: op,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        alarmDescription: `${model}: ${what}`,
      });
    this.driftedShareAlarm = alarm(
      'DriftedShareAlarm',
      'DriftedShare',
      driftShare,
      cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      `${driftShare * 100}% or more of the judged features drifted from the baseline`,
    );
    this.featurePsiAlarm = alarm(
      'FeaturePsiAlarm',
      'MaxPsi',
      driftPsi,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      `a feature's PSI against the baseline is above ${driftPsi}`,
    );
    this.predictionShiftAlarm = alarm(
      'PredictionShiftAlarm',
      'PredictionPsi',
      driftPsi,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      `the prediction distribution's PSI against the baseline is above ${driftPsi}`,
    );
    this.driftAlarm = new cloudwatch.CompositeAlarm(this, 'DriftAlarm', {
      alarmRule: cloudwatch.AlarmRule.anyOf(
        ...[this.driftedShareAlarm, this.featurePsiAlarm, this.predictionShiftAlarm].map((a) =>
          cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM),
        ),
      ),
      alarmDescription: `${model}: inputs or predictions drifted from the baseline (the drift job publishes ${DRIFT_EVENT.detailType}, which retrains)`,
    });

    this.dashboard = this.buildDashboard(model, windowHours, { driftPsi, driftShare });

    const artifactsId = stack.getLogicalId(props.artifacts.node.defaultChild as CfnElement);
    const bucketId = stack.getLogicalId(this.bucket.node.defaultChild as CfnElement);
    Validations.of(this.shipper.role as iam.Role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${PREDICTIONS_PREFIX}/*]`,
      reason:
        'Writes the prediction log under predictions/ (one object per delivered batch, named at run time).',
    });
    const jobRole = this.jobFunction.role as iam.Role;
    Validations.of(jobRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${artifactsId}.Arn>/*]`,
      reason: 'Reads the baseline profile of whichever registered version served (GetObject only).',
    });
    Validations.of(jobRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${ATHENA_RESULTS_PREFIX}/*]`,
      reason: 'Athena writes and the job reads query results under athena-results/ (keys are query ids).',
    });
    for (const prefix of [PREDICTIONS_PREFIX, REPORTS_PREFIX]) {
      Validations.of(jobRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}/*]`,
        reason: `Reads the prediction log's window and writes the run's reports under ${prefix}/ (keys chosen at run time).`,
      });
    }
    const smRole = this.stateMachine.role as iam.Role;
    Validations.of(smRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
    });
    const jobId = stack.getLogicalId(this.jobFunction.node.defaultChild as CfnElement);
    Validations.of(smRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${jobId}.Arn>:*]`,
      reason: "LambdaInvoke grants the function's versions and aliases (Function:*), this function only.",
    });
  }

  private buildDashboard(
    model: string,
    windowHours: number,
    thresholds: { driftPsi: number; driftShare: number },
  ): cloudwatch.Dashboard {
    const period = Duration.hours(1);
    const search = (namespace: string, dims: string, name: string, stat: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${namespace},${dims}} MetricName="${name}" model="${model}"', '${stat}', ${period.toSeconds()})`,
        label,
        period,
      });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(7) });
    // Dashboard tags are newer than cfn-lint's resource specs (E3002), and a dashboard costs
    // nothing to attribute: the stack's tags stay off it.
    for (const key of ['project', 'stage']) Tags.of(dashboard).remove(key);
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: `${model}: drift alarms`,
        alarms: [this.driftAlarm, this.driftedShareAlarm, this.featurePsiAlarm, this.predictionShiftAlarm],
        width: 24,
        height: 3,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Drifted share and largest PSI (window ${windowHours} h)`,
        left: [
          search(MONITORING_NAMESPACE, 'model,version', 'DriftedShare', 'Maximum', 'drifted share'),
          search(MONITORING_NAMESPACE, 'model,version', 'MaxPsi', 'Maximum', 'max feature PSI'),
          search(MONITORING_NAMESPACE, 'model,version', 'PredictionPsi', 'Maximum', 'prediction PSI'),
        ],
        leftAnnotations: [
          { value: thresholds.driftPsi, label: 'PSI threshold' },
          { value: thresholds.driftShare, label: 'drifted share threshold' },
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'PSI per feature',
        left: [search(MONITORING_NAMESPACE, 'model,version,feature', 'Psi', 'Maximum', '')],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Prediction mean per version',
        left: [search(MONITORING_NAMESPACE, 'model,version', 'PredictionMean', 'Average', '')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Predict latency p99 (ms)',
        left: [search(SERVING_NAMESPACE, 'model,version', 'PredictLatency', 'p99', '')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Predict errors (share of requests)',
        left: [search(SERVING_NAMESPACE, 'model,version', 'PredictErrors', 'Average', '')],
        width: 8,
      }),
    );
    return dashboard;
  }
}
