import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { artifactRoutes } from '../../lambdas/tracking/api/artifact-routes';
import { registryRoutes } from '../../lambdas/tracking/api/registry-routes';
import { trackingRoutes } from '../../lambdas/tracking/api/tracking-routes';
import type { MlopsPlatform } from '../platform';
import { NATIVE_MODULES } from '../private/native-layer';
import { PlatformFunction } from '../private/platform-function';
import { SecureBucket } from '../private/secure-bucket';
import { SecureTable } from '../private/secure-table';

export interface TrackingProps {
  readonly platform: MlopsPlatform;
  /** Bus the registry publishes stage and alias changes to. @default - the account's default bus */
  readonly eventBus?: events.IEventBus;
  /**
   * Layer with onnxruntime-node's native binding (`NativeModulesLayer`), used to check that
   * a registered model loads. @default - none: pass the platform's shared layer on AWS
   */
  readonly nativeLayer?: lambda.ILayerVersion;
  /** Memory of the tracking function (onnxruntime loads models at registration). @default 1024 */
  readonly memorySize?: number;
}

/** What other areas may depend on: the metadata table, the artifacts bucket and grants. */
export interface ITracking {
  readonly table: dynamodb.ITable;
  readonly artifacts: s3.IBucket;
  /** Lets a principal read run artifacts and registered models (deployment, serving). */
  grantReadArtifacts(grantee: iam.IGrantable): iam.Grant;
}

/**
 * Experiment tracking and model registry speaking MLflow's REST API, serverless: one
 * on-demand DynamoDB table, one artifacts bucket, one function behind the platform API.
 * Nothing runs or bills when idle.
 */
export class Tracking extends Construct implements ITracking {
  readonly table: dynamodb.Table;
  readonly artifacts: s3.Bucket;
  readonly fn: PlatformFunction;

  constructor(scope: Construct, id: string, props: TrackingProps) {
    super(scope, id);
    const { platform } = props;
    this.table = new SecureTable(this, 'Metadata', {
      localName: 'tracking',
      indexes: ['gsi1'],
      timeToLiveAttribute: 'expires_at',
      retain: platform.config.retainData,
    }).table;
    this.artifacts = new SecureBucket(this, 'Artifacts', {
      localName: 'artifacts',
      accessLogs: platform.accessLogs.bucket,
      retain: platform.config.retainData,
    }).bucket;
    const bus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.fn = new PlatformFunction(this, 'Api', {
      ...platform.functionDefaults('tracking'),
      entry: 'lambdas/tracking/handler.ts',
      memorySize: props.memorySize ?? 1024,
      timeout: Duration.seconds(29),
      externalModules: NATIVE_MODULES,
      layers: props.nativeLayer ? [props.nativeLayer] : undefined,
      environment: {
        TABLE: this.table.tableName,
        ARTIFACTS_BUCKET: this.artifacts.bucketName,
        EVENT_BUS_NAME: bus.eventBusName,
      },
    });
    this.table.grantReadWriteData(this.fn.fn);
    this.artifacts.grantReadWrite(this.fn.fn);
    this.artifacts.grantDelete(this.fn.fn);
    // Least privilege: PutEvents on the one bus only.
    this.fn.fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [bus.eventBusArn] }),
    );
    const role = this.fn.fn.role as iam.IRole;
    const why: [string, string][] = [
      [
        'AwsSolutions-IAM5[Resource::<PlatformTrackingMetadataTableEF60AC66.Arn>/index/*]',
        "Run search queries the table's own GSI; the grant is scoped to this table's indexes.",
      ],
      [
        'AwsSolutions-IAM5[Resource::<PlatformTrackingArtifactsBucketE4DEA790.Arn>/*]',
        "The artifact proxy reads and writes any run's artifacts in this one bucket; paths are validated in code.",
      ],
      ['AwsSolutions-IAM5[Action::s3:GetObject*]', 'CDK grantReadWrite on the artifacts bucket only.'],
      ['AwsSolutions-IAM5[Action::s3:GetBucket*]', 'CDK grantReadWrite on the artifacts bucket only.'],
      [
        'AwsSolutions-IAM5[Action::s3:List*]',
        'artifacts/list lists run prefixes of the artifacts bucket only.',
      ],
      [
        'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
        'The proxy deletes artifacts (MLflow DELETE artifacts/<path>) in this bucket only.',
      ],
      [
        'AwsSolutions-IAM5[Action::s3:Abort*]',
        'Multipart uploads of large artifacts can be aborted (mpu/abort).',
      ],
    ];
    for (const [id, reason] of why) Validations.of(role).acknowledge({ id, reason });
    platform.api.addRoutes(this.fn.fn, [...trackingRoutes, ...registryRoutes, ...artifactRoutes]);
  }

  grantReadArtifacts(grantee: iam.IGrantable): iam.Grant {
    return this.artifacts.grantRead(grantee);
  }
}
