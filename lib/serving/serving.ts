import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { servingRoutes } from '../../lambdas/serving/api/routes';
import { deploymentRoutes } from '../../lambdas/serving/deploy/routes';
import type { IPlatformApi } from '../api/platform-api';
import type { FunctionDefaults } from '../features/online-store';
import { NATIVE_MODULES } from '../private/native-layer';
import { PlatformFunction } from '../private/platform-function';
import { CanaryDeployment, type CanaryDeploymentProps } from './deployment';
import { SageMakerServing, type SageMakerServingProps } from './sagemaker-serving';

export interface ServingProps {
  readonly api: IPlatformApi;
  readonly functionDefaults: FunctionDefaults;
  /** The layer with onnxruntime-node's native binding. */
  readonly nativeLayer: lambda.ILayerVersion;
  /** The tracking table (registry and runs), read to resolve the served version. */
  readonly trackingTable: dynamodb.ITable;
  /** The artifacts bucket holding registered models. */
  readonly artifacts: s3.IBucket;
  /** The features bucket (its registry) and the online table, for entity-key requests. */
  readonly featuresBucket: s3.IBucket;
  readonly onlineTable?: dynamodb.ITable;
  /** The registered model served. */
  readonly modelName: string;
  /** Feature service read for entity keys when the model's run names none. @default - none */
  readonly featureService?: string;
  /** Pin: a version number, else the alias, else the model's Production version. @default - Production */
  readonly modelVersion?: string;
  readonly modelAlias?: string;
  /** Provisioned concurrency of the `live` alias (0: on demand). @default 0 */
  readonly provisionedConcurrency?: number;
  /** Memory: onnxruntime and the model live in it; CPU grows with it. @default 1769 (one full vCPU) */
  readonly memorySize?: number;
  /** 'staging-winners': a version of the served model moved to Staging is canary-deployed. @default 'manual' */
  readonly autoDeploy?: 'manual' | 'staging-winners';
  /**
   * servingBackend 'sagemaker': a SageMaker endpoint scores, this function is its front and
   * the canary moves the endpoint's variant weights (lib/serving/sagemaker-serving.ts).
   * @default - the Lambda backend: this function scores
   */
  readonly sagemaker?: Omit<SageMakerServingProps, 'modelName' | 'artifacts' | 'front' | 'deployment'>;
  /** Canary settings (alarm thresholds, bake time). @default - CanaryDeployment's defaults */
  readonly deployment?: Partial<
    Pick<CanaryDeploymentProps, 'errorRate' | 'latencyP99Ms' | 'predictionShift' | 'bakeTime'>
  >;
}

/**
 * Serving on Lambda: the predict function (Open Inference Protocol v2, the v1 predict API,
 * edge export) behind the platform API with IAM authorization, invoked through its `live`
 * alias. At cold start it loads the pinned model version from the artifacts bucket into one
 * onnxruntime session. Reads only: the tracking table, the artifacts bucket, the feature
 * registry and the online table.
 */
export class Serving extends Construct {
  readonly fn: PlatformFunction;
  /** The alias the API invokes; the canary moves its weights between published versions. */
  readonly liveAlias: lambda.Alias;
  /** The canary deployment workflow of this function and its per-variant alarms. */
  readonly deployment: CanaryDeployment;
  /** The SageMaker endpoint, on servingBackend 'sagemaker'. */
  readonly sagemaker?: SageMakerServing;

  constructor(scope: Construct, id: string, props: ServingProps) {
    super(scope, id);
    const concurrency = props.provisionedConcurrency ?? 0;
    if (!Number.isInteger(concurrency) || concurrency < 0) {
      throw new Error(`serving.provisionedConcurrency must be a whole number >= 0 (got ${concurrency})`);
    }
    this.fn = new PlatformFunction(this, 'Predict', {
      ...props.functionDefaults('serving'),
      entry: 'lambdas/serving/handler.ts',
      memorySize: props.memorySize ?? 1769,
      timeout: Duration.seconds(29),
      externalModules: NATIVE_MODULES,
      layers: [props.nativeLayer],
      environment: {
        MODEL_NAME: props.modelName,
        ...(props.modelVersion ? { MODEL_VERSION: props.modelVersion } : {}),
        ...(props.modelAlias ? { MODEL_ALIAS: props.modelAlias } : {}),
        ...(props.featureService ? { FEATURE_SERVICE: props.featureService } : {}),
        TABLE: props.trackingTable.tableName,
        ARTIFACTS_BUCKET: props.artifacts.bucketName,
        FEATURES_BUCKET: props.featuresBucket.bucketName,
        ...(props.onlineTable ? { ONLINE_TABLE: props.onlineTable.tableName } : {}),
      },
    });
    const fn = this.fn.fn;
    // Least privilege: item reads of the tracking table (no index, no writes), object reads.
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
      resourceArns: [props.trackingTable.tableArn],
    });
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['s3:GetObject'],
      resourceArns: [props.artifacts.arnForObjects('*'), props.featuresBucket.arnForObjects('registry/*')],
    });
    if (props.onlineTable) {
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resourceArns: [props.onlineTable.tableArn],
      });
    }
    this.liveAlias = new lambda.Alias(this, 'Live', {
      aliasName: 'live',
      version: fn.currentVersion,
      ...(concurrency > 0 ? { provisionedConcurrentExecutions: concurrency } : {}),
    });
    props.api.addRoutes(this.liveAlias, servingRoutes);
    // Canary deployments through `live` (lib/serving/deployment.ts).
    this.deployment = new CanaryDeployment(this, 'Deployment', {
      function: fn,
      alias: this.liveAlias,
      modelName: props.modelName,
      trackingTable: props.trackingTable,
      functionDefaults: props.functionDefaults,
      ...props.deployment,
    });
    props.api.addRoutes(this.deployment.apiFunction, deploymentRoutes);
    if (props.sagemaker) {
      this.sagemaker = new SageMakerServing(this, 'SageMaker', {
        ...(props.deployment?.latencyP99Ms ? { latencyP99Ms: props.deployment.latencyP99Ms } : {}),
        ...props.sagemaker,
        modelName: props.modelName,
        artifacts: props.artifacts,
        front: fn,
        deployment: this.deployment,
      });
    }
    if (props.autoDeploy === 'staging-winners') {
      // The registry's stage change (lambdas/tracking/domain/registry.ts) starts the canary.
      new events.Rule(this, 'DeployStagingWinners', {
        eventPattern: {
          source: ['mlops.registry'],
          detailType: ['ModelVersionStageChanged'],
          detail: { name: [props.modelName], to: ['Staging'] },
        },
        targets: [
          new targets.SfnStateMachine(this.deployment.stateMachine, {
            input: events.RuleTargetInput.fromObject({
              request: {
                model: events.EventField.fromPath('$.detail.name'),
                version: events.EventField.fromPath('$.detail.version'),
              },
            }),
          }),
        ],
      });
    }

    const stack = Stack.of(this);
    const artifactsId = stack.getLogicalId(props.artifacts.node.defaultChild as CfnElement);
    const featuresId = stack.getLogicalId(props.featuresBucket.node.defaultChild as CfnElement);
    const role = fn.role as iam.IRole;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${artifactsId}.Arn>/*]`,
      reason:
        'Serving and export read any registered model version in the artifacts bucket (GetObject only).',
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${featuresId}.Arn>/registry/*]`,
      reason: 'Entity-key requests read the feature registry under registry/ (GetObject only).',
    });
  }
}
