import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { monitoringReadRoutes } from '../../lambdas/monitoring/api/routes';
import { REPORTS_PREFIX } from '../../lambdas/monitoring/job/report-keys';
import { BY_HOUR_INDEX, DEFAULT_TTL_DAYS } from '../../lambdas/monitoring/labels/index-schema';
import { labelRoutes } from '../../lambdas/monitoring/labels/routes';
import { MONITORING_NAMESPACE } from '../../lambdas/monitoring/performance/performance';
import {
  latestPerformanceKey,
  PERFORMANCE_PREFIX,
} from '../../lambdas/monitoring/performance/performance-store';
import type { IPlatformApi } from '../api/platform-api';
import type { FunctionDefaults } from '../features/online-store';
import { PlatformFunction } from '../private/platform-function';
import { SecureTable } from '../private/secure-table';
import type { ICanaryDeployment } from '../serving/deployment';

export interface PerformanceMonitoringProps {
  readonly api: IPlatformApi;
  readonly functionDefaults: FunctionDefaults;
  /** The served model whose predictions are scored. */
  readonly modelName: string;
  /** The registry (versions, deployments) and runs (training metrics). */
  readonly trackingTable: dynamodb.ITable;
  /** Registered models' files: each version's signature says its task. */
  readonly artifacts: s3.IBucket;
  /**
   * The monitoring bucket: the job stores its latest run under `performance/`, and the
   * monitoring API reads it and the drift job's reports (`reports/`).
   */
  readonly bucket: s3.IBucket;
  /** The serving function and the alias the severe alarm rolls back. */
  readonly servingFunction: lambda.IFunction;
  readonly servingAlias: lambda.IAlias;
  /**
   * The serving function's canary workflow: a severe rollback during a canary stops its
   * running execution, so no later step moves traffic back to the version rolled back.
   * @default - a running canary is not stopped
   */
  readonly deployment?: ICanaryDeployment;
  /** The serving versions' error-rate alarms (one per variant): any in ALARM makes the severe alarm. */
  readonly errorAlarms: readonly cloudwatch.IAlarm[];
  /**
   * The input-drift alarm. A performance drop while the inputs drifted is the world changing,
   * which retraining answers; the severe alarm then does not roll back.
   * @default - the performance drop alone counts
   */
  readonly driftAlarm?: cloudwatch.IAlarm;
  /** When the performance job runs (EventBridge expression). @default rate(1 hour) */
  readonly schedule?: string;
  /** Prediction time the job scores, ending now. @default 168 hours (7 days) */
  readonly lookbackHours?: number;
  /** Windows within it, reported per version. @default 24 hours */
  readonly windowHours?: number;
  /** Labelled rows below which a version gets no metrics (no verdict). @default 100 */
  readonly minLabels?: number;
  /** Relative drop of AUC (or rise of RMSE) from training that raises the performance alarm. @default 0.1 */
  readonly performanceDrop?: number;
  /** Days a prediction stays joinable to a label (the index's TTL). @default 90 */
  readonly labelTtlDays?: number;
  /** A rollback of the model within this time makes the severe action stand down. @default 15 minutes */
  readonly rollbackCooldown?: Duration;
  /** Keep the index when the stack is deleted. @default true */
  readonly retain?: boolean;
}

/** What other constructs may depend on. */
export interface IPerformanceMonitoring {
  readonly indexTable: dynamodb.ITable;
  readonly performanceAlarm: cloudwatch.IAlarm;
  readonly severeAlarm: cloudwatch.IAlarm;
  /** Lets a function (the log shipper) write the prediction index; sets its `PREDICTION_INDEX_TABLE`. */
  addIndexWriter(fn: lambda.Function): void;
}

/**
 * Delayed-label performance of the served model: the prediction index (what each logged
 * request needs for a label to be joined later, filled by the log shipper), `POST /v1/labels`,
 * a scheduled job scoring each version per window (AUC, accuracy, F1 or RMSE, MAE, label
 * coverage) as CloudWatch metrics and as the latest run in the monitoring bucket, the
 * monitoring API's read routes (drift reports, performance, request metrics from CloudWatch)
 * on the labels route's function, an alarm on the drop from the version's test metric, and
 * the composite "severe" alarm whose Lambda action rolls the `live` alias back with serving's
 * own rollback and records why on the model version.
 *
 * @example
 * new PerformanceMonitoring(this, 'Performance', { api, functionDefaults, modelName: 'churn', trackingTable, artifacts, servingFunction, servingAlias, errorAlarms });
 */
export class PerformanceMonitoring extends Construct implements IPerformanceMonitoring {
  readonly indexTable: dynamodb.Table;
  /** `POST /v1/labels` and the monitoring read routes (`GET /v1/models/{name}/monitoring/...`). */
  readonly apiFunction: lambda.Function;
  readonly jobFunction: lambda.Function;
  readonly rollbackFunction: lambda.Function;
  readonly performanceAlarm: cloudwatch.Alarm;
  readonly severeAlarm: cloudwatch.CompositeAlarm;
  private readonly ttlDays: number;

  constructor(scope: Construct, id: string, props: PerformanceMonitoringProps) {
    super(scope, id);
    const drop = props.performanceDrop ?? 0.1;
    if (!(drop > 0 && drop < 1)) throw new Error(`alarms.performanceDrop must be in (0, 1), got ${drop}`);
    this.ttlDays = props.labelTtlDays ?? DEFAULT_TTL_DAYS;
    const stack = Stack.of(this);
    this.indexTable = new SecureTable(this, 'PredictionIndex', {
      localName: 'prediction-index',
      indexes: [BY_HOUR_INDEX],
      timeToLiveAttribute: 'expires_at',
      retain: props.retain,
    }).table;
    const table = this.indexTable;
    const fn = (name: string, entry: string, environment: Record<string, string>, extra = {}) =>
      new PlatformFunction(this, name, {
        ...props.functionDefaults('monitoring'),
        entry,
        environment,
        ...extra,
      }).fn;
    const grant = (grantee: iam.IGrantable, actionList: string[], resourceArns: string[]) =>
      iam.Grant.addToPrincipal({ grantee, actions: actionList, resourceArns });

    // The monitoring API: one function for the labels route and the read routes, as the stack
    // is near CloudFormation's 500 resources (a function of its own would cost five more).
    // The function keeps its construct id, so the deployed one is updated in place.
    this.apiFunction = fn('Labels', 'lambdas/monitoring/api/handler.ts', {
      INDEX_TABLE: table.tableName,
      LABEL_TTL_DAYS: String(this.ttlDays),
      MONITORING_BUCKET: props.bucket.bucketName,
      TABLE: props.trackingTable.tableName,
    });
    // POST /v1/labels: checks ids and existing labels (BatchGetItem), writes labels (PutItem).
    grant(this.apiFunction, ['dynamodb:BatchGetItem', 'dynamodb:PutItem'], [table.tableArn]);
    props.api.addRoutes(this.apiFunction, labelRoutes);
    // The reads: the model and its versions (GetItem, Query), the drift reports and the
    // performance runs, and the serving function's request metrics.
    grant(this.apiFunction, ['dynamodb:GetItem', 'dynamodb:Query'], [props.trackingTable.tableArn]);
    const readPrefixes = [REPORTS_PREFIX, PERFORMANCE_PREFIX];
    grant(
      this.apiFunction,
      ['s3:GetObject'],
      readPrefixes.map((p) => props.bucket.arnForObjects(`${p}/*`)),
    );
    // Unconditioned: S3 checks ListBucket on a GetObject of a missing key, which has no prefix.
    grant(this.apiFunction, ['s3:ListBucket'], [props.bucket.bucketArn]);
    grant(this.apiFunction, ['cloudwatch:GetMetricData'], ['*']);
    props.api.addRoutes(this.apiFunction, monitoringReadRoutes);
    const bucketId = stack.getLogicalId(props.bucket.node.defaultChild as CfnElement);
    const apiRole = this.apiFunction.role as iam.Role;
    for (const prefix of readPrefixes) {
      Validations.of(apiRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}/*]`,
        reason: `Reads the ${prefix === REPORTS_PREFIX ? "drift job's reports" : "performance job's runs"} under ${prefix}/ (GetObject only; keys are per model and run).`,
      });
    }
    Validations.of(apiRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "X-Ray's PutTraceSegments/PutTelemetryRecords and cloudwatch:GetMetricData (the request metrics the monitoring API reads) support no resource-level permissions.",
    });

    // The job: a window of predictions by hour (the GSI), their labels, each version's
    // signature and test metric (registry, runs, artifacts).
    this.jobFunction = fn(
      'PerformanceJob',
      'lambdas/monitoring/performance/job-handler.ts',
      {
        INDEX_TABLE: table.tableName,
        TABLE: props.trackingTable.tableName,
        ARTIFACTS_BUCKET: props.artifacts.bucketName,
        MODEL_NAME: props.modelName,
        LOOKBACK_HOURS: String(props.lookbackHours ?? 168),
        WINDOW_HOURS: String(props.windowHours ?? 24),
        MIN_LABELS: String(props.minLabels ?? 100),
        MONITORING_BUCKET: props.bucket.bucketName,
      },
      { memorySize: 1024, timeout: Duration.minutes(15) },
    );
    grant(this.jobFunction, ['dynamodb:Query'], [`${table.tableArn}/index/${BY_HOUR_INDEX}`]);
    grant(this.jobFunction, ['dynamodb:BatchGetItem'], [table.tableArn]);
    grant(this.jobFunction, ['dynamodb:GetItem', 'dynamodb:Query'], [props.trackingTable.tableArn]);
    grant(this.jobFunction, ['s3:GetObject'], [props.artifacts.arnForObjects('*')]);
    // Its latest run, for the monitoring API: the one object of its model.
    grant(
      this.jobFunction,
      ['s3:PutObject'],
      [props.bucket.arnForObjects(latestPerformanceKey(props.modelName))],
    );
    const artifactsId = stack.getLogicalId(props.artifacts.node.defaultChild as CfnElement);
    Validations.of(this.jobFunction.role as iam.Role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${artifactsId}.Arn>/*]`,
      reason:
        'Reads the signature of whichever registered version served (GetObject only): its task decides the metrics.',
    });
    new events.Rule(this, 'Schedule', {
      description: `Scores ${props.modelName}'s predictions against the labels that have arrived`,
      schedule: events.Schedule.expression(props.schedule ?? 'rate(1 hour)'),
      targets: [new targets.LambdaFunction(this.jobFunction)],
    });

    // The serving version's drop from its test metric, emitted by the job per model.
    this.performanceAlarm = new cloudwatch.Alarm(this, 'PerformanceDrop', {
      metric: new cloudwatch.Metric({
        namespace: MONITORING_NAMESPACE,
        metricName: 'PerformanceDrop',
        dimensionsMap: { model: props.modelName },
        statistic: 'Maximum',
        period: Duration.hours(1),
      }),
      threshold: drop,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No labels, no verdict: never an alarm from missing data.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${props.modelName}: AUC (or RMSE) on delayed labels ${drop * 100}% or more worse than at training`,
    });

    // The severe alarm's action: serving's rollback of the live alias, recorded on the version.
    this.rollbackFunction = fn('SevereRollback', 'lambdas/monitoring/performance/severe-handler.ts', {
      MODEL_NAME: props.modelName,
      SERVING_FUNCTION: props.servingFunction.functionName,
      SERVING_ALIAS: props.servingAlias.aliasName,
      TABLE: props.trackingTable.tableName,
      ROLLBACK_COOLDOWN_SECONDS: String((props.rollbackCooldown ?? Duration.minutes(15)).toSeconds()),
    });
    const servingArn = props.servingFunction.functionArn;
    grant(
      this.rollbackFunction,
      ['lambda:GetAlias', 'lambda:GetFunctionConfiguration', 'lambda:UpdateAlias'],
      [servingArn, `${servingArn}:*`],
    );
    grant(
      this.rollbackFunction,
      ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      [props.trackingTable.tableArn],
    );
    props.deployment?.grantStopExecution(this.rollbackFunction);
    const servingId = stack.getLogicalId(props.servingFunction.node.defaultChild as CfnElement);
    Validations.of(this.rollbackFunction.role as iam.Role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${servingId}.Arn>:*]`,
      reason: "Reads the serving function's versions and moves its alias back (its qualified ARNs only).",
    });

    const dropped = cloudwatch.AlarmRule.fromAlarm(this.performanceAlarm, cloudwatch.AlarmState.ALARM);
    const performance = props.driftAlarm
      ? cloudwatch.AlarmRule.allOf(
          dropped,
          cloudwatch.AlarmRule.not(
            cloudwatch.AlarmRule.fromAlarm(props.driftAlarm, cloudwatch.AlarmState.ALARM),
          ),
        )
      : dropped;
    this.severeAlarm = new cloudwatch.CompositeAlarm(this, 'Severe', {
      alarmRule: cloudwatch.AlarmRule.anyOf(
        ...props.errorAlarms.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM)),
        performance,
      ),
      alarmDescription: `${props.modelName}: the serving version fails requests, or predicts worse than at training on unchanged inputs; rolls the ${props.servingAlias.aliasName} alias back`,
    });
    // A Lambda action rather than an SNS subscription: one hop, and the function's resource
    // policy admits this alarm's ARN only.
    this.severeAlarm.addAlarmAction(new actions.LambdaAction(this.rollbackFunction));
  }

  addIndexWriter(fn: lambda.Function): void {
    fn.addEnvironment('PREDICTION_INDEX_TABLE', this.indexTable.tableName);
    fn.addEnvironment('LABEL_TTL_DAYS', String(this.ttlDays));
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:BatchWriteItem'],
      resourceArns: [this.indexTable.tableArn],
    });
  }

  /**
   * Gives the performance job the experiment store, whose outcomes it reports per version as
   * proxy metrics (conversion rate, mean value): the model's experiments (GSI) and their
   * outcome partitions, read only.
   */
  addOutcomeSource(table: dynamodb.ITable): iam.Grant {
    this.jobFunction.addEnvironment('EXPERIMENTS_TABLE', table.tableName);
    return iam.Grant.addToPrincipal({
      grantee: this.jobFunction,
      actions: ['dynamodb:Query'],
      resourceArns: [table.tableArn, `${table.tableArn}/index/gsi1`],
    });
  }
}
