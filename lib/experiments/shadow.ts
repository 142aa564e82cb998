import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { shadowRoutes } from '../../lambdas/experiments/shadow/api/routes';
import { SHADOW_PREFIX } from '../../lambdas/experiments/shadow/layout';
import type { IPlatformApi } from '../api/platform-api';
import type { FunctionDefaults } from '../features/online-store';
import { NATIVE_MODULES } from '../private/native-layer';
import { PlatformFunction } from '../private/platform-function';

export interface ShadowModeProps {
  readonly api: IPlatformApi;
  readonly functionDefaults: FunctionDefaults;
  /** The layer with onnxruntime-node's native binding (the scorer runs the shadow version). */
  readonly nativeLayer: lambda.ILayerVersion;
  /** The predict function: its log group is subscribed to. */
  readonly predictFunction: lambda.Function;
  /** Registry and runs, read to resolve the shadow version's files. */
  readonly trackingTable: dynamodb.ITable;
  /** Registered models' files. */
  readonly artifacts: s3.IBucket;
  /** The monitoring bucket: shadow configuration and pairs under `shadow/`. */
  readonly bucket: s3.IBucket;
  /** Memory of the scorer (onnxruntime and the shadow model live in it). @default 1769 */
  readonly memorySize?: number;
}

/**
 * Shadow mode: a scorer subscribed to the predict function's log group (successful
 * prediction lines) scores each request again with the model's shadow version, after the
 * live answer was returned and in its own function, and stores the pairs in the monitoring
 * bucket; an API function sets, reads and stops a model's shadow and reports on it
 * (`/v1/models/{name}/shadow`, docs/experiments.md).
 */
export class ShadowMode extends Construct {
  readonly scorer: lambda.Function;
  readonly apiFunction: lambda.Function;
  readonly subscription: logs.SubscriptionFilter;

  constructor(scope: Construct, id: string, props: ShadowModeProps) {
    super(scope, id);
    const configObjects = `${SHADOW_PREFIX}/config/*`;
    const pairObjects = `${SHADOW_PREFIX}/pairs/*`;

    this.scorer = new PlatformFunction(this, 'Scorer', {
      ...props.functionDefaults('experiments'),
      entry: 'lambdas/experiments/shadow/scorer-handler.ts',
      memorySize: props.memorySize ?? 1769,
      timeout: Duration.minutes(2),
      externalModules: NATIVE_MODULES,
      layers: [props.nativeLayer],
      environment: {
        MONITORING_BUCKET: props.bucket.bucketName,
        TABLE: props.trackingTable.tableName,
        ARTIFACTS_BUCKET: props.artifacts.bucketName,
      },
    }).fn;
    // Least privilege: item reads of the registry and runs, model files, its config and pairs.
    iam.Grant.addToPrincipal({
      grantee: this.scorer,
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
      resourceArns: [props.trackingTable.tableArn],
    });
    iam.Grant.addToPrincipal({
      grantee: this.scorer,
      actions: ['s3:GetObject'],
      resourceArns: [props.artifacts.arnForObjects('*')],
    });
    const objects = (grantee: iam.IGrantable, actions: string[], pattern: string) =>
      iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [props.bucket.arnForObjects(pattern)] });
    // ListBucket lets a missing configuration read as 404 (S3 answers 403 without it).
    const list = (grantee: iam.IGrantable) =>
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:ListBucket'],
        resourceArns: [props.bucket.bucketArn],
      });
    objects(this.scorer, ['s3:GetObject'], configObjects);
    objects(this.scorer, ['s3:PutObject'], pairObjects);
    list(this.scorer);
    // CloudWatch Logs allows two filters per log group: this one and the log shipper's.
    this.subscription = new logs.SubscriptionFilter(this, 'PredictionLog', {
      logGroup: props.predictFunction.logGroup,
      destination: new LambdaDestination(this.scorer),
      filterPattern: logs.FilterPattern.literal('{ $.mlops_prediction = 1 && $.status = 200 }'),
    });

    this.apiFunction = new PlatformFunction(this, 'Api', {
      ...props.functionDefaults('experiments'),
      entry: 'lambdas/experiments/shadow/api-handler.ts',
      memorySize: 1024,
      timeout: Duration.seconds(29),
      environment: { MONITORING_BUCKET: props.bucket.bucketName, TABLE: props.trackingTable.tableName },
    }).fn;
    iam.Grant.addToPrincipal({
      grantee: this.apiFunction,
      actions: ['dynamodb:GetItem'],
      resourceArns: [props.trackingTable.tableArn],
    });
    objects(this.apiFunction, ['s3:GetObject'], `${SHADOW_PREFIX}/*`);
    objects(this.apiFunction, ['s3:PutObject', 's3:DeleteObject'], configObjects);
    list(this.apiFunction);
    props.api.addRoutes(this.apiFunction, shadowRoutes);

    const stack = Stack.of(this);
    const artifactsId = stack.getLogicalId(props.artifacts.node.defaultChild as CfnElement);
    const bucketId = stack.getLogicalId(props.bucket.node.defaultChild as CfnElement);
    const scorerRole = this.scorer.role as iam.IRole;
    Validations.of(scorerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${artifactsId}.Arn>/*]`,
      reason: 'The shadow scores whichever registered version is configured (GetObject only).',
    });
    for (const [role, prefix, what] of [
      [scorerRole, configObjects, 'Reads the shadow configuration of the models whose requests it scores.'],
      [scorerRole, pairObjects, 'Writes one pairs object per delivered batch, named at run time.'],
      [
        this.apiFunction.role as iam.IRole,
        `${SHADOW_PREFIX}/*`,
        'Reads shadow configuration and pairs for reports.',
      ],
      [
        this.apiFunction.role as iam.IRole,
        configObjects,
        'Writes and deletes one configuration object per model.',
      ],
    ] as const) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}]`,
        reason: what,
      });
    }
  }
}
