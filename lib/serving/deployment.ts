import { ArnFormat, type CfnElement, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { SERVING_NAMESPACE } from '../../lambdas/serving/domain/prediction-log';
import type { FunctionDefaults } from '../features/online-store';
import { arnInFinding } from '../private/nag-findings';
import { PlatformFunction } from '../private/platform-function';

/** The two variants versions alternate between, so the new version's metrics are its own. */
export const VARIANTS = ['blue', 'green'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface CanaryDeploymentProps {
  /** The serving function whose versions are published. */
  readonly function: lambda.IFunction;
  /** The alias the API invokes (`live`); its routing weights carry the canary. */
  readonly alias: lambda.IAlias;
  /** The registered model the function serves. */
  readonly modelName: string;
  /** The registry's table: deployments are recorded as tags of the model version. */
  readonly trackingTable: dynamodb.ITable;
  readonly functionDefaults: FunctionDefaults;
  /** Errors (5xx and model failures) per request above which the new version rolls back. @default 0.01 */
  readonly errorRate?: number;
  /** p99 latency (ms) above which the new version rolls back. @default 500 */
  readonly latencyP99Ms?: number;
  /**
   * Share of the new version's predictions outside its baseline profile's central 98% above
   * which it rolls back (0.02 when its traffic looks like its test set). @default 0.2
   */
  readonly predictionShift?: number;
  /** How long each traffic step is held before its alarms are checked. @default 300 seconds */
  readonly bakeTime?: Duration;
  /** Alarm period: metrics are judged per period of this length. @default 60 seconds */
  readonly alarmPeriod?: Duration;
}

/** What other constructs may depend on. */
export interface ICanaryDeployment {
  readonly stateMachine: sfn.IStateMachine;
  /** The new version's alarms, per variant. */
  readonly alarms: Readonly<Record<Variant, readonly cloudwatch.IAlarm[]>>;
  /**
   * Lets a function stop the workflow's running executions (a rollback outside the workflow)
   * and sets its `STATE_MACHINE_ARN`: `states:StopExecution` on this state machine's executions only.
   */
  grantStopExecution(fn: lambda.Function): iam.Grant;
}

/**
 * Canary deployments of the serving function through its weighted alias: a Step Functions
 * workflow publishes a Lambda version pinned to a registered model version (on the variant
 * the live version does not use), refuses it unless its ready route says its model loaded,
 * moves the alias's weight in steps (5 → 25 → 50 → 100% by default, each held for the
 * bake time), checks the new variant's alarms (error rate, p99 latency and the shift of its
 * predictions against its baseline profile, from the prediction log's metrics) after every step, and on any alarm sends all traffic back to
 * the previous version. Every step, any refusal or rollback with its reason is recorded on the model version's `mlops.deployment.*` tags.
 *
 * @example
 * const deploy = new CanaryDeployment(this, 'Deployment', { function: fn, alias: live, modelName: 'churn', trackingTable, functionDefaults });
 */
export class CanaryDeployment extends Construct implements ICanaryDeployment {
  readonly stateMachine: sfn.StateMachine;
  readonly alarms: Record<Variant, cloudwatch.Alarm[]>;
  /** The deployment API's function (`POST /v1/deployments`, status, rollback): add its routes to the API. */
  readonly apiFunction: lambda.Function;
  /** The step functions of the workflow (prepare, ready, shift, decide, rollback, promote). */
  readonly functions: Record<string, lambda.Function>;

  constructor(scope: Construct, id: string, props: CanaryDeploymentProps) {
    super(scope, id);
    const errorRate = props.errorRate ?? 0.01;
    const latency = props.latencyP99Ms ?? 500;
    if (!(errorRate >= 0 && errorRate < 1))
      throw new Error(`CanaryDeployment errorRate must be in [0, 1), got ${errorRate}`);
    const shiftShare = props.predictionShift ?? 0.2;
    if (!(shiftShare > 0 && shiftShare < 1))
      throw new Error(`CanaryDeployment predictionShift must be in (0, 1), got ${shiftShare}`);
    const period = props.alarmPeriod ?? Duration.seconds(60);
    const bake = props.bakeTime ?? Duration.minutes(5);

    this.alarms = { blue: [], green: [] };
    for (const variant of VARIANTS) {
      const dims = { model: props.modelName, variant };
      const metric = (name: string, statistic: string) =>
        new cloudwatch.Metric({
          namespace: SERVING_NAMESPACE,
          metricName: name,
          dimensionsMap: dims,
          statistic,
          period,
        });
      const v = variant[0]?.toUpperCase() + variant.slice(1);
      this.alarms[variant].push(
        // PredictErrors is 0 or 1 per request: its average is the error rate.
        new cloudwatch.Alarm(this, `${v}ErrorRate`, {
          metric: metric('PredictErrors', 'Average'),
          threshold: errorRate,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: `Error rate of ${props.modelName} (${variant}) above ${errorRate}`,
        }),
        new cloudwatch.Alarm(this, `${v}LatencyP99`, {
          metric: metric('PredictLatency', 'p99'),
          threshold: latency,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: `p99 latency of ${props.modelName} (${variant}) above ${latency} ms`,
        }),
        // PredictionShift is 0 or 1 per row (1: outside the version's baseline central 98%,
        // lambdas/serving/domain/prediction-shift.ts): its average is the share outside.
        // A version without a baseline profile emits none: missing data is not breaching.
        new cloudwatch.Alarm(this, `${v}PredictionShift`, {
          metric: metric('PredictionShift', 'Average'),
          threshold: shiftShare,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: `Share of ${props.modelName} (${variant}) predictions outside the baseline's central 98% above ${shiftShare}`,
        }),
      );
    }

    const fnArn = props.function.functionArn;
    const stack = Stack.of(this);
    const fnId = stack.getLogicalId(props.function.node.defaultChild as CfnElement);
    this.functions = {};
    const step = (handler: string, lambdaActions: string[]) => {
      const fn = new PlatformFunction(this, `${handler[0]?.toUpperCase()}${handler.slice(1)}Step`, {
        ...props.functionDefaults('serving-deploy'),
        entry: 'lambdas/serving/deploy/handlers.ts',
        handler,
        memorySize: 256,
        timeout: Duration.minutes(3),
        environment: {
          MODEL_NAME: props.modelName,
          SERVING_FUNCTION: props.function.functionName,
          SERVING_ALIAS: props.alias.aliasName,
          TABLE: props.trackingTable.tableName,
          BAKE_SECONDS: String(bake.toSeconds()),
          ALARMS_BLUE: this.alarms.blue.map((a) => a.alarmName).join(','),
          ALARMS_GREEN: this.alarms.green.map((a) => a.alarmName).join(','),
        },
      }).fn;
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resourceArns: [props.trackingTable.tableArn],
      });
      if (lambdaActions.length) {
        // Versions and aliases are qualified ARNs (`function:name:3`): this function's only.
        iam.Grant.addToPrincipal({
          grantee: fn,
          actions: lambdaActions,
          resourceArns: [fnArn, `${fnArn}:*`],
        });
        Validations.of(fn.role as iam.Role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
          reason:
            'Publishes versions of and moves the alias of the serving function only (its qualified ARNs).',
        });
      }
      this.functions[handler] = fn;
      return fn;
    };
    const prepareFn = step('prepare', [
      'lambda:GetAlias',
      'lambda:GetFunction',
      'lambda:GetFunctionConfiguration',
      'lambda:UpdateFunctionConfiguration',
      'lambda:PublishVersion',
    ]);
    // Invokes the new version only (its qualified ARN): its ready route, before any traffic.
    const readyFn = step('ready', ['lambda:InvokeFunction']);
    const shiftFn = step('shift', ['lambda:UpdateAlias']);
    const decideFn = step('decide', []);
    const rollbackFn = step('rollback', ['lambda:UpdateAlias']);
    const promoteFn = step('promote', []);

    const invoke = (
      name: string,
      fn: lambda.IFunction,
      payload: Record<string, unknown>,
      resultPath: string,
    ) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject(payload),
        resultPath,
        retryOnServiceExceptions: true,
      });
    const state = sfn.JsonPath.objectAt('$.state');
    const refused = new sfn.Fail(this, 'Refused', { error: 'DeploymentRefused', causePath: '$.error.Cause' });
    const rolledBack = new sfn.Fail(this, 'Rolled back', {
      error: 'CanaryRolledBack',
      causePath: '$.outcome.reason',
    });
    const rollbackOnError = invoke(
      'Roll back on error',
      rollbackFn,
      { state, error: sfn.JsonPath.objectAt('$.error') },
      '$.outcome',
    ).next(rolledBack);
    const prepare = invoke(
      'Publish pinned version',
      prepareFn,
      { request: sfn.JsonPath.objectAt('$.request'), execution: sfn.JsonPath.stringAt('$$.Execution.Name') },
      '$.state',
    ).addCatch(refused, { resultPath: '$.error' });
    const ready = invoke('Check readiness', readyFn, { state }, '$.state').addCatch(refused, {
      resultPath: '$.error',
    });
    const shift = invoke('Shift traffic', shiftFn, { state }, '$.state').addCatch(rollbackOnError, {
      resultPath: '$.error',
    });
    const wait = new sfn.Wait(this, 'Bake', { time: sfn.WaitTime.secondsPath('$.state.bakeSeconds') });
    const check = new tasks.CallAwsService(this, 'Check alarms', {
      service: 'cloudwatch',
      action: 'describeAlarms',
      parameters: { AlarmNames: sfn.JsonPath.listAt('$.state.alarmNames') },
      iamResources: [...this.alarms.blue, ...this.alarms.green].map((a) => a.alarmArn),
      iamAction: 'cloudwatch:DescribeAlarms',
      resultSelector: { MetricAlarms: sfn.JsonPath.listAt('$.MetricAlarms') },
      resultPath: '$.check',
    }).addCatch(rollbackOnError, { resultPath: '$.error' });
    const decide = invoke(
      'Decide',
      decideFn,
      { state, check: sfn.JsonPath.objectAt('$.check') },
      '$.decision',
    ).addCatch(rollbackOnError, { resultPath: '$.error' });
    const rollbackOnAlarm = invoke(
      'Roll back on alarm',
      rollbackFn,
      { state, reason: sfn.JsonPath.stringAt('$.decision.reason') },
      '$.outcome',
    ).next(rolledBack);
    const promote = invoke('Promote', promoteFn, { state }, '$.outcome')
      .addCatch(rollbackOnError, { resultPath: '$.error' })
      .next(new sfn.Succeed(this, 'Live'));
    const nextStep = new sfn.Pass(this, 'Next step', {
      inputPath: '$.decision.state',
      resultPath: '$.state',
    });
    nextStep.next(shift);
    const definition = prepare
      .next(ready)
      .next(shift)
      .next(wait)
      .next(check)
      .next(decide)
      .next(
        new sfn.Choice(this, 'Healthy?')
          .when(sfn.Condition.stringEquals('$.decision.action', 'rollback'), rollbackOnAlarm)
          .when(sfn.Condition.stringEquals('$.decision.action', 'next'), nextStep)
          .otherwise(promote),
      );

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.functionDefaults('serving-deploy').logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      timeout: Duration.days(2),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    // The API checks a request as the workflow's first step does, starts the workflow,
    // reads the alias and the records (status) and moves the alias back (rollback).
    this.apiFunction = step('api', [
      'lambda:GetAlias',
      'lambda:GetFunctionConfiguration',
      'lambda:UpdateAlias',
    ]);
    this.stateMachine.grantStartExecution(this.apiFunction);
    // A manual rollback stops the running canary.
    this.grantStopExecution(this.apiFunction);
    iam.Grant.addToPrincipal({
      grantee: this.apiFunction,
      actions: ['dynamodb:Query'],
      resourceArns: [props.trackingTable.tableArn],
    });
    const smRole = this.stateMachine.role as iam.Role;
    Validations.of(smRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
    });
    for (const fn of Object.values(this.functions)) {
      if (fn === this.apiFunction) continue;
      const id = stack.getLogicalId(fn.node.defaultChild as CfnElement);
      Validations.of(smRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
        reason: "LambdaInvoke grants the function's versions and aliases (Function:*), this function only.",
      });
    }
  }

  grantStopExecution(fn: lambda.Function): iam.Grant {
    const stack = Stack.of(this);
    fn.addEnvironment('STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    // An execution's ARN is `...:execution:<machine name>:<execution name>`: this machine's only.
    const grant = iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['states:StopExecution'],
      resourceArns: [
        stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${Fn.select(6, Fn.split(':', this.stateMachine.stateMachineArn))}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
    const machineName = JSON.stringify({
      'Fn::Select': [
        6,
        {
          'Fn::Split': [':', { Ref: stack.getLogicalId(this.stateMachine.node.defaultChild as CfnElement) }],
        },
      ],
    });
    Validations.of(fn.role as iam.Role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arnInFinding(this, 'states', `execution:${machineName}:*`)}]`,
      reason:
        'Stops executions of the deployment state machine only (a rollback stops the running canary); their names are chosen per deployment.',
    });
    return grant;
  }
}
