import { ArnFormat, type CfnElement, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { OUTPUT_PREFIX, WORK_PREFIX } from '../../lambdas/serving/batch/job';
import { batchScoringRoutes } from '../../lambdas/serving/batch/routes';
import type { IPlatformApi } from '../api/platform-api';
import type { FunctionDefaults } from '../features/online-store';
import { arnAttrInFinding, arnInFinding } from '../private/nag-findings';
import { NATIVE_MODULES } from '../private/native-layer';
import { PlatformFunction } from '../private/platform-function';

/** Where the Distributed Map's ResultWriter puts its manifest and result files. */
const MAP_RESULTS_PREFIX = `${WORK_PREFIX}map-results`;

export interface BatchScoringProps {
  readonly api: IPlatformApi;
  readonly functionDefaults: FunctionDefaults;
  /** The layer with DuckDB's and onnxruntime-node's native bindings. */
  readonly nativeLayer: lambda.ILayerVersion;
  /** The registry's table, read to resolve a version or alias. */
  readonly trackingTable: dynamodb.ITable;
  /** Registered models, shard lists, the Map's results and the outputs (under `batch-scoring/`). */
  readonly artifacts: s3.IBucket;
  /** Inputs may also come from the features bucket (offline store exports, training sets). */
  readonly featuresBucket: s3.IBucket;
  /** Shards scored at once. @default 10 */
  readonly maxConcurrency?: number;
  /** Memory of the shard function (onnxruntime, DuckDB and a shard's batches). @default 3008 */
  readonly memorySize?: number;
  /** /tmp of the plan and shard functions (the input is downloaded there). @default 4096 */
  readonly ephemeralStorageMiB?: number;
}

/** What other constructs may depend on. */
export interface IBatchScoring {
  readonly stateMachine: sfn.IStateMachine;
}

/**
 * Batch scoring on Step Functions: a plan step checks the job (model version or alias,
 * input in S3, empty output prefix), resolves the version and writes the shard list (row
 * ranges); a Distributed Map reads it and scores each shard in its own Lambda invocation
 * (the same `scoreFile` the CLI runs), at most `maxConcurrency` at once, each putting one
 * part object; a last step writes `_manifest.json` (rows, parts, model version). On any
 * failure the parts are deleted. Started by `POST /v1/batch-scoring`, read by
 * `GET /v1/batch-scoring/{id}` (IAM-authorized on the platform API).
 *
 * @example
 * new BatchScoring(this, 'BatchScoring', { api, functionDefaults, nativeLayer, trackingTable, artifacts, featuresBucket });
 */
export class BatchScoring extends Construct implements IBatchScoring {
  readonly stateMachine: sfn.StateMachine;
  /** The API's function (start, status). */
  readonly apiFunction: lambda.Function;
  readonly functions: Record<'plan' | 'score' | 'manifest' | 'cleanup' | 'api', lambda.Function>;

  constructor(scope: Construct, id: string, props: BatchScoringProps) {
    super(scope, id);
    const concurrency = props.maxConcurrency ?? 10;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000)
      throw new Error(
        `batchScoring.maxConcurrency must be a whole number from 1 to 10,000 (got ${concurrency})`,
      );
    // The Distributed Map's ResultWriterV2 renders only under this flag (set before any child).
    this.node.setContext(cxapi.STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const stack = Stack.of(this);
    const artifactsArn = arnAttrInFinding(props.artifacts);
    const featuresArn = arnAttrInFinding(props.featuresBucket);

    const step = (
      handler: 'plan' | 'score' | 'manifest' | 'cleanup' | 'api',
      size: { memory: number; timeout: Duration; data: boolean },
    ) => {
      const fn = new PlatformFunction(this, `${handler[0]?.toUpperCase()}${handler.slice(1)}`, {
        ...props.functionDefaults('batch-scoring'),
        entry: 'lambdas/serving/batch/handlers.ts',
        handler,
        memorySize: size.memory,
        timeout: size.timeout,
        layers: [props.nativeLayer],
        externalModules: NATIVE_MODULES,
        environment: {
          TABLE: props.trackingTable.tableName,
          ARTIFACTS_BUCKET: props.artifacts.bucketName,
          FEATURES_BUCKET: props.featuresBucket.bucketName,
        },
      }).fn;
      // The input is downloaded to /tmp, and DuckDB spills there.
      if (size.data)
        (fn.node.defaultChild as lambda.CfnFunction).ephemeralStorage = {
          size: props.ephemeralStorageMiB ?? 4096,
        };
      return fn;
    };
    const planFn = step('plan', { memory: 1769, timeout: Duration.minutes(5), data: true });
    const scoreFn = step('score', {
      memory: props.memorySize ?? 3008,
      timeout: Duration.minutes(15),
      data: true,
    });
    const manifestFn = step('manifest', { memory: 1024, timeout: Duration.minutes(2), data: false });
    const cleanupFn = step('cleanup', { memory: 256, timeout: Duration.minutes(5), data: false });
    const apiFn = step('api', { memory: 512, timeout: Duration.seconds(29), data: false });
    this.apiFunction = apiFn;
    this.functions = { plan: planFn, score: scoreFn, manifest: manifestFn, cleanup: cleanupFn, api: apiFn };

    // Least privilege, per step.
    const grant = (fn: lambda.IFunction, actions: string[], resourceArns: string[]) =>
      iam.Grant.addToPrincipal({ grantee: fn, actions, resourceArns });
    const registryRead = ['dynamodb:GetItem', 'dynamodb:Query'];
    for (const fn of [planFn, scoreFn, apiFn]) {
      grant(fn, registryRead, [props.trackingTable.tableArn]);
      // Models (any registered version) and inputs (anywhere in the two buckets).
      grant(
        fn,
        ['s3:GetObject'],
        [props.artifacts.arnForObjects('*'), props.featuresBucket.arnForObjects('*')],
      );
    }
    const outputs = props.artifacts.arnForObjects(`${OUTPUT_PREFIX}*`);
    const listOutputs = (fn: lambda.IFunction) =>
      (fn.role as iam.IRole).addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [props.artifacts.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${OUTPUT_PREFIX}*`] } },
        }),
      );
    // Plan: the shard list; checks the output prefix is empty.
    grant(planFn, ['s3:PutObject'], [outputs]);
    listOutputs(planFn);
    // Shards: their part objects.
    grant(scoreFn, ['s3:PutObject'], [outputs]);
    // Manifest: reads the Map's results and a part, writes the manifest.
    grant(manifestFn, ['s3:GetObject', 's3:PutObject'], [outputs]);
    // Cleanup: deletes parts and the shard list.
    grant(cleanupFn, ['s3:GetObject', 's3:DeleteObject'], [outputs]);
    listOutputs(cleanupFn);

    const findings: [lambda.Function, string, string][] = [];
    for (const fn of [planFn, scoreFn, apiFn]) {
      findings.push(
        [
          fn,
          `Resource::${artifactsArn}/*`,
          'Reads any registered model version and inputs in the artifacts bucket (GetObject only).',
        ],
        [fn, `Resource::${featuresArn}/*`, 'Reads inputs from the features bucket (GetObject only).'],
      );
    }
    for (const fn of [planFn, scoreFn, manifestFn, cleanupFn]) {
      findings.push([
        fn,
        `Resource::${artifactsArn}/${OUTPUT_PREFIX}*`,
        "Writes the job's shard list, parts and manifest under the batch-scoring/ prefix only; keys are chosen per job.",
      ]);
    }
    for (const [fn, finding, reason] of findings)
      Validations.of(fn.role as iam.Role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });

    const invoke = (
      name: string,
      fn: lambda.IFunction,
      payload: Record<string, unknown>,
      resultPath: string,
      outputPath?: string,
    ) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject(payload),
        resultPath,
        ...(outputPath ? { outputPath } : {}),
        retryOnServiceExceptions: true,
      });
    const execution = sfn.JsonPath.stringAt('$$.Execution.Name');
    const failed = new sfn.Fail(this, 'Batch Scoring Failed', {
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const cleanup = invoke(
      'Delete Partial Output',
      cleanupFn,
      { plan: sfn.JsonPath.objectAt('$.plan'), execution },
      '$.cleanup',
    );
    cleanup.addCatch(failed, { resultPath: '$.cleanupError' }).next(failed);
    const plan = invoke(
      'Plan Shards',
      planFn,
      { request: sfn.JsonPath.objectAt('$.request'), execution },
      '$.plan',
    ).addCatch(failed, { resultPath: '$.error' });
    const scoreShard = invoke(
      'Score Shard',
      scoreFn,
      { plan: sfn.JsonPath.objectAt('$.plan'), shard: sfn.JsonPath.objectAt('$.shard') },
      // ResultPath + OutputPath instead of ResultPath '$' (which the local engine mishandles).
      '$.result',
      '$.result',
    );
    const map = new sfn.DistributedMap(this, 'Score Shards', {
      itemReader: new ShardListReader(props.artifacts),
      itemSelector: { 'plan.$': '$.plan', 'shard.$': '$$.Map.Item.Value' },
      maxConcurrency: concurrency,
      resultWriterV2: new MapResultsWriter(props.artifacts),
      resultSelector: { 'manifest.$': '$.ResultWriterDetails.Key' },
      resultPath: '$.results',
      mapExecutionType: sfn.StateMachineType.STANDARD,
      toleratedFailurePercentage: 0,
    });
    map.itemProcessor(scoreShard);
    map.addCatch(cleanup, { resultPath: '$.error' });
    const manifest = invoke(
      'Write Manifest',
      manifestFn,
      { plan: sfn.JsonPath.objectAt('$.plan'), results: sfn.JsonPath.objectAt('$.results'), execution },
      '$.manifest',
    ).addCatch(cleanup, { resultPath: '$.error' });
    const definition = plan.next(map).next(manifest).next(new sfn.Succeed(this, 'Scored'));

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.functionDefaults('batch-scoring').logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      timeout: Duration.hours(12),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    apiFn.addEnvironment('STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    this.stateMachine.grantStartExecution(apiFn);
    // Status reads: executions of this state machine only.
    const machineName = JSON.stringify({
      'Fn::Select': [
        6,
        {
          'Fn::Split': [':', { Ref: stack.getLogicalId(this.stateMachine.node.defaultChild as CfnElement) }],
        },
      ],
    });
    grant(
      apiFn,
      ['states:DescribeExecution'],
      [
        stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${Fn.select(6, Fn.split(':', this.stateMachine.stateMachineArn))}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    );
    Validations.of(apiFn.role as iam.Role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arnInFinding(this, 'states', `execution:${machineName}:*`)}]`,
      reason: 'Describes executions of the batch-scoring state machine only; their names are chosen per job.',
    });
    props.api.addRoutes(apiFn, batchScoringRoutes);

    const smRole = this.stateMachine.role as iam.Role;
    Validations.of(smRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
    });
    for (const fn of [planFn, scoreFn, manifestFn, cleanupFn]) {
      const fnId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
      Validations.of(smRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
        reason: "LambdaInvoke grants the function's versions and aliases (Function:*), this function only.",
      });
    }
    const reason =
      'The Distributed Map starts, describes and stops child executions of this state machine only; their names are chosen at run time.';
    for (const resource of [`execution:${machineName}:*`, `execution:${machineName}/*:*`]) {
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${arnInFinding(this, 'states', resource)}]`,
        reason,
      });
    }
    for (const [finding, why] of [
      [
        `Resource::${artifactsArn}/${WORK_PREFIX}*`,
        'The item reader gets the shard list the plan step wrote (its key is per execution).',
      ],
      [
        `Resource::${artifactsArn}/${MAP_RESULTS_PREFIX}/*`,
        "The result writer puts the Map run's manifest and result files under its own prefix only.",
      ],
    ] as const)
      Validations.of(this.stateMachine).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: why });
  }
}

/** The item reader, allowed to read the shard lists only (CDK's grants the whole bucket). */
class ShardListReader extends sfn.S3JsonItemReader {
  constructor(private readonly listBucket: s3.IBucket) {
    super({ bucket: listBucket, key: sfn.JsonPath.stringAt('$.plan.shardsKey') });
  }

  override providePolicyStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.listBucket.arnForObjects(`${WORK_PREFIX}*`)],
      }),
    ];
  }
}

/** The result writer, allowed to write its own prefix only (CDK's grants the whole bucket). */
class MapResultsWriter extends sfn.ResultWriterV2 {
  constructor(private readonly resultsBucket: s3.IBucket) {
    super({ bucket: resultsBucket, prefix: MAP_RESULTS_PREFIX });
  }

  override providePolicyStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        resources: [this.resultsBucket.arnForObjects(`${MAP_RESULTS_PREFIX}/*`)],
      }),
    ];
  }
}
