import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LOCAL_NAME_METADATA } from './local-metadata';

export interface SecureBucketProps {
  /** Name the local runtime gives this bucket on the filesystem (`<data-dir>/s3/<localName>`). */
  readonly localName: string;
  /** Bucket receiving server access logs. @default - none (only for the access-log bucket itself) */
  readonly accessLogs?: s3.IBucket;
  /** Keep the bucket when the stack is deleted. @default true */
  readonly retain?: boolean;
  /** Keep object versions so an overwrite or delete can be undone. @default true */
  readonly versioned?: boolean;
  /** Cross-origin rules (for browser uploads through presigned URLs). @default - none */
  readonly cors?: s3.CorsRule[];
}

/**
 * A private, encrypted, SSL-only bucket with access logging: the platform's only way to
 * make a bucket, so every bucket is secure by default.
 */
export class SecureBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    const retain = props.retain ?? true;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: props.versioned ?? true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: props.accessLogs ? `${props.localName}/` : undefined,
      cors: props.cors,
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
        ...(props.versioned === false ? [] : [{ noncurrentVersionExpiration: Duration.days(90) }]),
      ],
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      // CloudFormation cannot delete a bucket that holds objects: empty it first when not kept.
      autoDeleteObjects: !retain,
    });
    (this.bucket.node.defaultChild as s3.CfnBucket).addMetadata(LOCAL_NAME_METADATA, props.localName);
    if (!props.accessLogs) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'This is the access-log target bucket; logging it into itself would loop.',
      });
    }
  }
}
