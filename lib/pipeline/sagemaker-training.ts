import {
  Arn,
  ArnFormat,
  Aws,
  type CfnElement,
  Duration,
  RemovalPolicy,
  Size,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { ECR_IMAGE_URI, type TrainerConfig } from '../config';
import { arnInFinding } from '../private/nag-findings';

export type SageMakerTrainer = Extract<TrainerConfig, { kind: 'sagemaker' }>;

export interface SageMakerTrainingProps {
  /** The validated `pipeline.trainer` block. */
  readonly trainer: SageMakerTrainer;
  /** Holds the training rows (`training-sets/`) the job reads and the `models/` prefix it writes. */
  readonly featuresBucket: s3.IBucket;
  /** Keep the key when the stack is deleted. @default false */
  readonly retain?: boolean;
}

/** Where SageMaker training jobs log (one stream per job and instance). */
const LOG_GROUP = '/aws/sagemaker/TrainingJobs';

/** Time a job needs beyond its own runtime: instance start, image pull, data download, upload. */
export const JOB_OVERHEAD = Duration.hours(1);

/**
 * Instance families with NVMe instance storage (m5d, c5d, g4dn, g5, p4d, ...): their volumes
 * are encrypted by the hardware and SageMaker refuses a volume KMS key for them.
 */
export function hasInstanceStorage(instanceType: string): boolean {
  const family = instanceType.replace(/^ml\./, '').split('.')[0] ?? '';
  return /^[a-z]+\d+[a-z]*d[a-z]*$/.test(family) || /^(g5|g6|g6e|p5|p5e|trn1|trn1n)$/.test(family);
}

/** The repository of an ECR image URI, as ARN and name (the role may pull from this repository only). */
export function ecrRepository(image: string): { repositoryArn: string; repositoryName: string } {
  const m = ECR_IMAGE_URI.exec(image);
  if (!m) throw new Error(`'${image}' is not an ECR image URI`);
  const [, account, region, china, repository] = m as unknown as [string, string, string, string, string];
  return {
    repositoryArn: `arn:${china ? 'aws-cn' : Aws.PARTITION}:ecr:${region}:${account}:repository/${repository}`,
    repositoryName: repository,
  };
}

/**
 * An S3 location read from the state at run time. Unlike `S3Location.fromJsonExpression`,
 * binding grants nothing (CDK would grant s3:GetObject/PutObject on every bucket): the job
 * role's prefix grants are made explicitly.
 */
class StateS3Location extends tasks.S3Location {
  constructor(private readonly path: string) {
    super();
  }

  bind(): tasks.S3LocationConfig {
    return { uri: sfn.JsonPath.stringAt(this.path) };
  }
}

/**
 * The pipeline's "Train Candidate" as a SageMaker training job on the team's container,
 * run to completion (`.sync`): the `train` channel and the output prefix come from the
 * Prepare Training Job step, and the job's role may read the training rows, write the
 * models prefix, pull its one image and write its logs, nothing else. The training volume
 * and the model archive are encrypted with a key of the pipeline's own.
 */
export class SageMakerTraining extends Construct {
  readonly role: iam.Role;
  /** Encrypts the training volume and the job's output; the import step decrypts with it. */
  readonly key: kms.Key;
  readonly task: tasks.SageMakerCreateTrainingJob;

  constructor(scope: Construct, id: string, props: SageMakerTrainingProps) {
    super(scope, id);
    const { trainer } = props;
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: 'SageMaker training volumes and model archives of the training pipeline',
      enableKeyRotation: true,
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Only SageMaker, for this account's training jobs, may assume the role (no confused deputy).
    const trainingJobs = stack.formatArn({
      service: 'sagemaker',
      resource: 'training-job',
      resourceName: '*',
    });
    this.role = new iam.Role(this, 'JobRole', {
      description: 'Runs the training pipeline SageMaker jobs',
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': trainingJobs },
      }),
    });
    props.featuresBucket.grantRead(this.role, 'training-sets/*');
    props.featuresBucket.grantPut(this.role, 'models/*');
    ecr.Repository.fromRepositoryAttributes(this, 'Image', ecrRepository(trainer.image)).grantPull(this.role);
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:DescribeLogStreams',
        ],
        resources: [
          Arn.format(
            {
              service: 'logs',
              resource: 'log-group',
              resourceName: `${LOG_GROUP}:*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            },
            stack,
          ),
        ],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );

    this.acknowledgeFindings(props.featuresBucket);

    const instanceType = trainer.instanceType.replace(/^ml\./, '');
    this.task = new tasks.SageMakerCreateTrainingJob(this, 'Train Candidate', {
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      trainingJobName: sfn.JsonPath.stringAt('$.trainingJob.jobName'),
      role: this.role,
      algorithmSpecification: {
        trainingImage: tasks.DockerImage.fromRegistry(trainer.image),
        trainingInputMode: tasks.InputMode.FILE,
      },
      // The container reads its channel and writes /opt/ml/model; by default it gets no network.
      enableNetworkIsolation: trainer.networkIsolation,
      hyperparameters: sfn.JsonPath.objectAt('$.trainingJob.hyperparameters') as unknown as Record<
        string,
        string
      >,
      inputDataConfig: [
        {
          channelName: 'train',
          contentType: 'application/vnd.apache.parquet',
          dataSource: {
            s3DataSource: {
              s3Location: new StateS3Location('$.trainingJob.trainUri'),
              s3DataType: tasks.S3DataType.S3_PREFIX,
              s3DataDistributionType: tasks.S3DataDistributionType.FULLY_REPLICATED,
            },
          },
        },
      ],
      outputDataConfig: {
        s3OutputLocation: new StateS3Location('$.trainingJob.outputUri'),
        encryptionKey: this.key,
      },
      resourceConfig: {
        instanceCount: trainer.instanceCount,
        instanceType: new ec2.InstanceType(instanceType),
        volumeSize: Size.gibibytes(trainer.volumeSizeGb),
        ...(hasInstanceStorage(trainer.instanceType) ? {} : { volumeEncryptionKey: this.key }),
      },
      stoppingCondition: { maxRuntime: Duration.seconds(trainer.maxRuntimeSeconds) },
      // Only what the import step needs; the full description would crowd the state.
      resultSelector: {
        'jobName.$': '$.TrainingJobName',
        'modelArtifacts.$': '$.ModelArtifacts.S3ModelArtifacts',
        'image.$': '$.AlgorithmSpecification.TrainingImage',
      },
      resultPath: '$.trainedJob',
      taskTimeout: sfn.Timeout.duration(Duration.seconds(trainer.maxRuntimeSeconds).plus(JOB_OVERHEAD)),
    });
    // Throttling and account limits are worth waiting out; a failed job (States.TaskFailed)
    // or a timeout is not retried: the job name is taken, and the failure is the container's.
    this.task.addRetry({
      errors: ['SageMaker.AmazonSageMakerException', 'SageMaker.ResourceLimitExceededException'],
      interval: Duration.seconds(30),
      maxAttempts: 3,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
  }

  /** cdk-nag findings on the job role, each with why it is as narrow as SageMaker allows. */
  private acknowledgeFindings(bucket: s3.IBucket): void {
    const stack = Stack.of(this);
    const bucketArn = `<${stack.getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>`;
    const findings: [string, string][] = [
      [
        `Resource::${bucketArn}/training-sets/*`,
        'The job reads its train channel under training-sets/ only.',
      ],
      [`Resource::${bucketArn}/models/*`, 'The job uploads its model archive under models/ only.'],
      ['Action::s3:GetObject*', "CDK's read grant, on the training-sets prefix of the features bucket."],
      ['Action::s3:GetBucket*', "CDK's read grant, on the training-sets prefix of the features bucket."],
      ['Action::s3:List*', 'SageMaker lists the channel prefix before it downloads it (File mode).'],
      [
        'Action::s3:Abort*',
        'SageMaker uploads large model archives in parts; aborting a failed upload needs it.',
      ],
      [
        'Resource::*',
        'ecr:GetAuthorizationToken and cloudwatch:PutMetricData (limited to SageMaker namespaces) take no resource ARN.',
      ],
      [
        `Resource::${arnInFinding(this, 'logs', `log-group:${LOG_GROUP}:*`)}`,
        "SageMaker writes one log stream per job and instance in its fixed log group; streams' names are not known in advance.",
      ],
      ['Action::kms:ReEncrypt*', "CDK's encrypt grant on the pipeline's own training key, nothing else."],
      [
        'Action::kms:GenerateDataKey*',
        "CDK's encrypt grant on the pipeline's own training key, nothing else.",
      ],
    ];
    for (const [finding, reason] of findings)
      Validations.of(this.role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}
