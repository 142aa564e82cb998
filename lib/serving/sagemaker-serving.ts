import {
  Arn,
  ArnFormat,
  Aws,
  type CfnElement,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import {
  MODEL_VERSION_VARIABLE,
  SAGEMAKER_VARIANTS,
  TRITON_PREFIX,
  tritonRepositoryPrefix,
} from '../../lambdas/serving/sagemaker/layout';
import { ECR_IMAGE_URI } from '../config';
import { arnInFinding } from '../private/nag-findings';
import type { CanaryDeployment } from './deployment';

/** NVIDIA Triton Inference Server from AWS's SageMaker images (Deep Learning Containers account). */
export const DEFAULT_TRITON_IMAGE = `763104351884.dkr.ecr.${Aws.REGION}.amazonaws.com/sagemaker-tritonserver:24.09-py3`;

export interface SageMakerServingProps {
  /** The registered model served (the Triton model's name). */
  readonly modelName: string;
  /** The endpoint's name (alarms and the front name it): letters, digits and dashes, at most 63. */
  readonly endpointName: string;
  /**
   * The registered version the endpoint starts with: its Triton repository must exist under
   * `serving/triton/<model>/<version>/` of the artifacts bucket before the stack creates the
   * endpoint (docs/serving.md, "SageMaker backend"). @default '1'
   */
  readonly initialVersion?: string;
  /** The artifacts bucket: registered models and their Triton repositories. */
  readonly artifacts: s3.IBucket;
  /** The serving container. @default DEFAULT_TRITON_IMAGE (Triton 24.09 with the ONNX Runtime backend) */
  readonly image?: string;
  /** Instance type of each variant. @default 'ml.c6i.large' */
  readonly instanceType?: string;
  /** Instances per variant. @default 1 */
  readonly instanceCount?: number;
  /** The predict function: it becomes the endpoint's front (validation, the log, the same routes). */
  readonly front: lambda.Function;
  /** The canary workflow: on this backend its traffic port is the endpoint's variant weights. */
  readonly deployment: CanaryDeployment;
  /** p99 model latency (ms) above which a variant's alarm fires. @default 500 */
  readonly latencyP99Ms?: number;
  /** Alarm period. @default 60 seconds */
  readonly alarmPeriod?: Duration;
  /** Keep the volume key when the stack is deleted. @default false */
  readonly retainKey?: boolean;
}

/**
 * Serving on a SageMaker real-time endpoint (`servingBackend: 'sagemaker'`): Triton with its
 * ONNX Runtime backend serves the registered version's model repository; the endpoint has
 * two production variants, `blue` (weight 1) and `green` (weight 0), between which the canary
 * workflow moves traffic with `UpdateEndpointWeightsAndCapacities`; each variant has alarms
 * on SageMaker's own metrics (5XX errors from the container, ModelLatency p99) besides the
 * prediction log's, and any of them rolls the canary back. The predict function stays the
 * API's target and sends the model call to the endpoint. The instances' volumes are
 * encrypted with a key of the endpoint's own; the execution role reads the Triton
 * repositories of the served model only.
 *
 * @example
 * new SageMakerServing(this, 'SageMaker', { modelName, endpointName: 'mlops-prod-serving', artifacts, front: fn, deployment });
 */
export class SageMakerServing extends Construct {
  readonly endpoint: sagemaker.CfnEndpoint;
  readonly endpointName: string;
  readonly role: iam.Role;
  readonly key: kms.Key;
  /** SageMaker's alarms per variant (5XX errors, ModelLatency p99). */
  readonly alarms: Record<(typeof SAGEMAKER_VARIANTS)[number], cloudwatch.Alarm[]>;

  constructor(scope: Construct, id: string, props: SageMakerServingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { modelName, endpointName } = props;
    if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(endpointName))
      throw new Error(
        `SageMaker endpoint name '${endpointName}' must be 1-63 letters, digits or dashes, starting and ending with a letter or digit`,
      );
    const initialVersion = props.initialVersion ?? '1';
    if (!/^\d+$/.test(initialVersion))
      throw new Error(
        `serving.sagemaker.initialVersion must be a registered version number, got '${initialVersion}'`,
      );
    const instanceCount = props.instanceCount ?? 1;
    if (!Number.isInteger(instanceCount) || instanceCount < 1)
      throw new Error(`serving.sagemaker.instanceCount must be a whole number >= 1, got ${instanceCount}`);
    const image = props.image ?? DEFAULT_TRITON_IMAGE;
    this.endpointName = endpointName;

    this.key = new kms.Key(this, 'VolumeKey', {
      description: `Storage volumes of the ${endpointName} SageMaker endpoint`,
      enableKeyRotation: true,
      removalPolicy: props.retainKey ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Only SageMaker, for this account, may assume the role (no confused deputy).
    this.role = new iam.Role(this, 'ExecutionRole', {
      description: `Runs the ${endpointName} endpoint's Triton containers`,
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
      }),
    });
    // Reads the served model's Triton repositories, nothing else of the bucket.
    const modelPrefix = `${TRITON_PREFIX}${modelName}/`;
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.artifacts.arnForObjects(`${modelPrefix}*`)],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.artifacts.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${modelPrefix}*`] } },
      }),
    );
    ecr.Repository.fromRepositoryAttributes(this, 'Image', ecrRepository(image)).grantPull(this.role);
    const logGroups = Arn.format(
      {
        service: 'logs',
        resource: 'log-group',
        resourceName: `/aws/sagemaker/Endpoints/${endpointName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:DescribeLogStreams',
        ],
        resources: [logGroups],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );

    const model = new sagemaker.CfnModel(this, 'InitialModel', {
      executionRoleArn: this.role.roleArn,
      // The container needs nothing but its model data, which SageMaker copies in for it.
      enableNetworkIsolation: true,
      primaryContainer: {
        image,
        environment: {
          SAGEMAKER_TRITON_DEFAULT_MODEL_NAME: modelName,
          [MODEL_VERSION_VARIABLE]: initialVersion,
        },
        modelDataSource: {
          s3DataSource: {
            s3Uri: `s3://${props.artifacts.bucketName}/${tritonRepositoryPrefix(modelName, initialVersion)}`,
            s3DataType: 'S3Prefix',
            compressionType: 'None',
          },
        },
      },
    });
    model.node.addDependency(this.role);
    // Blue serves; green idles at weight 0 until a canary gives it a version and traffic.
    const config = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      kmsKeyId: this.key.keyArn,
      productionVariants: SAGEMAKER_VARIANTS.map((variant) => ({
        variantName: variant,
        modelName: model.attrModelName,
        initialVariantWeight: variant === 'blue' ? 1 : 0,
        instanceType: props.instanceType ?? 'ml.c6i.large',
        initialInstanceCount: instanceCount,
      })),
    });
    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName,
      endpointConfigName: config.attrEndpointConfigName,
    });
    const endpointArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: endpointName,
    });

    const period = props.alarmPeriod ?? Duration.seconds(60);
    const latencyMs = props.latencyP99Ms ?? 500;
    this.alarms = { blue: [], green: [] };
    for (const variant of SAGEMAKER_VARIANTS) {
      const metric = (name: string, statistic: string) =>
        new cloudwatch.Metric({
          namespace: 'AWS/SageMaker',
          metricName: name,
          dimensionsMap: { EndpointName: endpointName, VariantName: variant },
          statistic,
          period,
        });
      const v = variant[0]?.toUpperCase() + variant.slice(1);
      this.alarms[variant].push(
        // Triton answers 5xx when the model fails to run: any is a failing version.
        new cloudwatch.Alarm(this, `${v}Invocation5XX`, {
          metric: metric('Invocation5XXErrors', 'Sum'),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: `5XX errors from the ${endpointName} endpoint's ${variant} variant`,
        }),
        // ModelLatency is in microseconds.
        new cloudwatch.Alarm(this, `${v}ModelLatencyP99`, {
          metric: metric('ModelLatency', 'p99'),
          threshold: latencyMs * 1000,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: `p99 model latency of the ${endpointName} endpoint's ${variant} variant above ${latencyMs} ms`,
        }),
      );
    }

    // The front: the predict function sends the model call to the endpoint.
    props.front.addEnvironment('SAGEMAKER_ENDPOINT', endpointName);
    iam.Grant.addToPrincipal({
      grantee: props.front,
      actions: ['sagemaker:InvokeEndpoint'],
      resourceArns: [endpointArn],
    });

    this.wireDeployment(props, endpointArn, modelPrefix);
    this.acknowledgeFindings(props.artifacts, modelPrefix);
  }

  /**
   * The canary workflow on this backend: its functions drive the endpoint's variants
   * (lambdas/serving/sagemaker/control.ts), package versions for Triton, and check the
   * SageMaker alarms as well as the prediction log's.
   */
  private wireDeployment(props: SageMakerServingProps, endpointArn: string, modelPrefix: string): void {
    const stack = Stack.of(this);
    const d = props.deployment;
    const names = (variant: (typeof SAGEMAKER_VARIANTS)[number]) =>
      [...d.alarms[variant], ...this.alarms[variant]].map((a) => a.alarmName).join(',');
    const sagemakerArn = (resource: string) =>
      stack.formatArn({
        service: 'sagemaker',
        resource,
        resourceName: `${props.endpointName.slice(0, 30)}-v*`,
      });
    for (const [step, fn] of Object.entries(d.functions)) {
      fn.addEnvironment('SAGEMAKER_ENDPOINT', props.endpointName);
      fn.addEnvironment('ARTIFACTS_BUCKET', props.artifacts.bucketName);
      fn.addEnvironment('ALARMS_BLUE', names('blue'));
      fn.addEnvironment('ALARMS_GREEN', names('green'));
      if (step === 'decide' || step === 'promote') continue;
      this.acknowledgeStep(fn, step, props, modelPrefix);
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: [
          'sagemaker:DescribeEndpoint',
          'sagemaker:DescribeEndpointConfig',
          'sagemaker:DescribeModel',
        ],
        resourceArns: [
          endpointArn,
          stack.formatArn({ service: 'sagemaker', resource: 'endpoint-config', resourceName: '*' }),
          stack.formatArn({ service: 'sagemaker', resource: 'model', resourceName: '*' }),
        ],
      });
      if (step === 'shift' || step === 'rollback' || step === 'api') {
        iam.Grant.addToPrincipal({
          grantee: fn,
          actions: ['sagemaker:UpdateEndpointWeightsAndCapacities'],
          resourceArns: [endpointArn],
        });
      }
      if (step === 'prepare') {
        // Creates the new version's model and config (named after the endpoint) and moves the endpoint to it.
        iam.Grant.addToPrincipal({
          grantee: fn,
          actions: ['sagemaker:CreateModel', 'sagemaker:CreateEndpointConfig', 'sagemaker:UpdateEndpoint'],
          resourceArns: [endpointArn, sagemakerArn('model'), sagemakerArn('endpoint-config')],
        });
        this.role.grantPassRole(fn.grantPrincipal);
        this.key.grant(fn, 'kms:CreateGrant', 'kms:DescribeKey');
        iam.Grant.addToPrincipal({
          grantee: fn,
          actions: ['s3:GetObject'],
          resourceArns: [props.artifacts.arnForObjects('*')],
        });
        iam.Grant.addToPrincipal({
          grantee: fn,
          actions: ['s3:PutObject'],
          resourceArns: [props.artifacts.arnForObjects(`${modelPrefix}*`)],
        });
      }
      // An endpoint update takes minutes (new instances start the container): the steps that
      // wait for one get Lambda's longest timeout.
      if (step === 'prepare' || step === 'ready' || step === 'shift' || step === 'rollback') {
        (fn.node.defaultChild as lambda.CfnFunction).timeout = Duration.minutes(15).toSeconds();
      }
    }
    // The state machine checks the SageMaker alarms too.
    d.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [...this.alarms.blue, ...this.alarms.green].map((a) => a.alarmArn),
      }),
    );
  }

  /** cdk-nag findings on a deployment step's role, each with why it is as narrow as it can be. */
  private acknowledgeStep(
    fn: lambda.Function,
    step: string,
    props: SageMakerServingProps,
    modelPrefix: string,
  ): void {
    const stack = Stack.of(this);
    const findings: [string, string][] = [
      [
        arnInFinding(this, 'sagemaker', 'endpoint-config/*'),
        "Describe only: the endpoint's configs are named by CloudFormation and by the workflow, and SageMaker lowercases names in ARNs.",
      ],
      [
        arnInFinding(this, 'sagemaker', 'model/*'),
        "Describe only: the variants' models are named by CloudFormation and by the workflow, and SageMaker lowercases names in ARNs.",
      ],
    ];
    if (step === 'prepare') {
      const bucketArn = `<${stack.getLogicalId(props.artifacts.node.defaultChild as CfnElement)}.Arn>`;
      const created = `${props.endpointName.slice(0, 30)}-v*`;
      findings.push(
        [
          arnInFinding(this, 'sagemaker', `model/${created}`),
          'Creates the models of new versions, named after the endpoint (<endpoint>-v<version>-<time>).',
        ],
        [
          arnInFinding(this, 'sagemaker', `endpoint-config/${created}`),
          'Creates the endpoint configs of new versions, named after the endpoint (<endpoint>-v<version>-<time>).',
        ],
        [
          `${bucketArn}/*`,
          'Reads the registered version it packages, wherever its run logged it (GetObject only).',
        ],
        [
          `${bucketArn}/${modelPrefix}*`,
          "Writes the served model's Triton repositories only (PutObject under serving/triton/<model>/).",
        ],
      );
    }
    for (const [finding, reason] of findings)
      Validations.of(fn.role as iam.Role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${finding}]`,
        reason,
      });
  }

  /** cdk-nag findings, each with why it is as narrow as SageMaker allows. */
  private acknowledgeFindings(artifacts: s3.IBucket, modelPrefix: string): void {
    const stack = Stack.of(this);
    const bucketArn = `<${stack.getLogicalId(artifacts.node.defaultChild as CfnElement)}.Arn>`;
    const findings: [string, string][] = [
      [
        `Resource::${bucketArn}/${modelPrefix}*`,
        "The endpoint reads the served model's Triton repositories only (one prefix per version).",
      ],
      [
        'Resource::*',
        'ecr:GetAuthorizationToken and cloudwatch:PutMetricData (limited to SageMaker namespaces) take no resource ARN.',
      ],
      [
        `Resource::${arnInFinding(this, 'logs', `log-group:/aws/sagemaker/Endpoints/${this.endpointName}:*`)}`,
        "SageMaker writes one log stream per instance and variant in the endpoint's fixed log group.",
      ],
    ];
    for (const [finding, reason] of findings)
      Validations.of(this.role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}

/** Repository ARN and name of an ECR image URI (the role may pull from this repository only). */
function ecrRepository(image: string): { repositoryArn: string; repositoryName: string } {
  // The default image's region is the stack's (a token); a configured one is checked literally.
  const m = ECR_IMAGE_URI.exec(image);
  const [account, region, , name] = m
    ? [m[1], m[2], m[3], m[4]]
    : ['763104351884', Aws.REGION, undefined, 'sagemaker-tritonserver'];
  return {
    repositoryArn: `arn:${Aws.PARTITION}:ecr:${region}:${account}:repository/${name}`,
    repositoryName: name as string,
  };
}
