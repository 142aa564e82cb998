import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Properties of the feature store's offline store. */
export interface FeatureOfflineStoreProps {
  /** Bucket holding `offline/<view>/date=.../*.parquet`, the registry and quarantine (private, encrypted). */
  readonly bucket: s3.IBucket;
  /** Stage name, used in the Glue database and workgroup names (lower case letters, digits, -). */
  readonly stage: string;
  /** Athena stops a query after scanning this many bytes. @default 10 GiB */
  readonly bytesScannedCutoffPerQuery?: number;
  /** Key for the Athena results bucket and query results. @default S3-managed encryption */
  readonly encryptionKey?: kms.IKey;
  /** Bucket receiving the results bucket's server access logs. @default - no access logs */
  readonly accessLogs?: s3.IBucket;
  /** Keep the query results bucket when the stack is deleted. @default true */
  readonly retain?: boolean;
}

/** What other constructs may depend on. */
export interface IFeatureOfflineStore {
  readonly databaseName: string;
  readonly workGroupName: string;
  readonly resultsBucket: s3.IBucket;
  grantQuery(grantee: iam.IGrantable): iam.Grant;
  grantRead(grantee: iam.IGrantable): iam.Grant;
  grantApply(grantee: iam.IGrantable): iam.Grant;
}

const DEFAULT_CUTOFF = 10 * 1024 ** 3;

/**
 * The offline store on AWS: a Glue database for the feature views' tables (created when views
 * are applied, not at synth time) and an Athena workgroup with enforced settings: results go
 * to an encrypted, private results bucket it creates, and every query has a bytes-scanned
 * limit.
 *
 * @example
 * const offline = new FeatureOfflineStore(this, 'Offline', { bucket: featuresBucket, stage: 'prod' });
 * offline.grantQuery(trainingSetFn);
 */
export class FeatureOfflineStore extends Construct implements IFeatureOfflineStore {
  readonly databaseName: string;
  readonly workGroupName: string;
  readonly resultsBucket: s3.Bucket;
  private readonly bucket: s3.IBucket;
  private readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: FeatureOfflineStoreProps) {
    super(scope, id);
    if (!/^[a-z0-9-]{1,20}$/.test(props.stage)) {
      throw new Error(
        `FeatureOfflineStore: stage '${props.stage}' must be 1-20 lower-case letters, digits or '-'`,
      );
    }
    const cutoff = props.bytesScannedCutoffPerQuery ?? DEFAULT_CUTOFF;
    if (cutoff < 10 * 1024 ** 2) {
      throw new Error(
        'FeatureOfflineStore: bytesScannedCutoffPerQuery must be at least 10 MB (Athena minimum)',
      );
    }
    this.bucket = props.bucket;
    if (props.encryptionKey) this.encryptionKey = props.encryptionKey;
    this.databaseName = `features_${props.stage.replaceAll('-', '_')}`;
    this.workGroupName = `features-${props.stage}`;

    new glue.CfnDatabase(this, 'Database', {
      catalogId: Stack.of(this).account,
      databaseInput: {
        name: this.databaseName,
        description: 'Feature store offline tables (one per feature view)',
      },
    });

    this.resultsBucket = new s3.Bucket(this, 'Results', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey, bucketKeyEnabled: true } : {}),
      removalPolicy: (props.retain ?? true) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !(props.retain ?? true),
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: props.accessLogs ? 'athena-results/' : undefined,
      // Query results are scratch: training sets are written under the features bucket.
      lifecycleRules: [{ id: 'expire-results', prefix: 'results/', expiration: Duration.days(7) }],
    });

    new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'Feature store queries: training sets and materialization',
      state: 'ENABLED',
      // The workgroup holds query history and saved queries, no data (results live in the
      // bucket above): without this, deleting the stack fails once a query has run.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoff,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject('results/'),
          encryptionConfiguration: props.encryptionKey
            ? { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn }
            : { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }

  /**
   * Lets the grantee build training sets: run queries in the workgroup, read the offline data
   * and Glue metadata, write `training-sets/` and results, and create and drop the
   * temporary `ts_*` tables a training set registers while it is built.
   */
  grantQuery(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const workGroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: this.workGroupName,
    });
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
        'athena:GetWorkGroup',
      ],
      resourceArns: [workGroupArn],
    });
    this.grantGlue(grantee, [
      'glue:GetDatabase',
      'glue:GetTable',
      'glue:GetTables',
      'glue:GetPartition',
      'glue:GetPartitions',
    ]);
    this.grantGlue(grantee, ['glue:CreateTable', 'glue:UpdateTable', 'glue:DeleteTable'], ['ts_*']);
    this.bucket.grantRead(grantee, 'offline/*');
    this.bucket.grantReadWrite(grantee, 'training-sets/*');
    // Clearing a rerun's data folder lists it; without ListBucket S3 answers 403, not an empty list.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': ['training-sets/*', 'offline/*'] } },
    });
    this.resultsBucket.grantReadWrite(grantee);
    this.encryptionKey?.grantEncryptDecrypt(grantee);
    return grant;
  }

  /** Lets the grantee read the offline Parquet files and the Glue metadata (e.g. to materialize). */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    this.grantGlue(grantee, ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartitions']);
    return this.bucket.grantRead(grantee, 'offline/*');
  }

  /**
   * Lets the grantee run `features apply` against AWS: write the registry and create, update
   * and drop the feature views' Glue tables (`offline_*`, `manifests_*`) in the features database.
   */
  grantApply(grantee: iam.IGrantable): iam.Grant {
    this.bucket.grantReadWrite(grantee, 'registry/*');
    this.grantGlue(grantee, ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables']);
    return this.grantGlue(
      grantee,
      ['glue:CreateTable', 'glue:UpdateTable', 'glue:DeleteTable'],
      ['offline_*', 'manifests_*'],
    );
  }

  /** Glue actions on the catalog, the features database and its tables (all, or those matching `tables`). */
  private grantGlue(grantee: iam.IGrantable, actions: string[], tables: string[] = ['*']): iam.Grant {
    const stack = Stack.of(this);
    return iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [
        stack.formatArn({ service: 'glue', resource: 'catalog' }),
        stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName }),
        ...tables.map((t) =>
          stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${this.databaseName}/${t}` }),
        ),
      ],
    });
  }
}
