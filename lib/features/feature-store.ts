import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { IPlatformApi } from '../api/platform-api';
import { SecureBucket } from '../private/secure-bucket';
import { FeatureOfflineStore } from './offline-store';
import { FeatureOnlineStore, type FunctionDefaults } from './online-store';

export interface FeatureStoreProps {
  readonly stage: string;
  /** Receives server access logs of the feature store's buckets. */
  readonly accessLogs: s3.IBucket;
  /** Keep the data when the stack is deleted. @default true */
  readonly retain?: boolean;
  /** Athena's per-query scan limit in bytes. @default 10 GiB */
  readonly bytesScannedCutoffPerQuery?: number;
  /** The platform API, to serve the online routes. @default - no online store */
  readonly api?: IPlatformApi;
  /** Common function props; required with `api`. */
  readonly functionDefaults?: FunctionDefaults;
  /** DuckDB's native bindings for the online store's functions; required with `api`. */
  readonly nativeLayer?: lambda.ILayerVersion;
  /** Ephemeral storage of the online store's functions (DuckDB spill), MiB. @default 2048 */
  readonly ephemeralStorageMiB?: number;
}

/**
 * The feature store area: the features bucket (registry, offline Parquet store,
 * quarantine, training sets) and the offline store's Glue database and Athena workgroup.
 */
export class FeatureStore extends Construct {
  readonly bucket: s3.Bucket;
  readonly offline: FeatureOfflineStore;
  /** The online store, when the props give the API. */
  readonly online?: FeatureOnlineStore;

  constructor(scope: Construct, id: string, props: FeatureStoreProps) {
    super(scope, id);
    this.bucket = new SecureBucket(this, 'Data', {
      localName: 'features',
      accessLogs: props.accessLogs,
      retain: props.retain,
    }).bucket;
    this.offline = new FeatureOfflineStore(this, 'Offline', {
      bucket: this.bucket,
      stage: props.stage,
      accessLogs: props.accessLogs,
      retain: props.retain,
      bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
    });
    if (props.api) {
      if (!props.functionDefaults || !props.nativeLayer) {
        throw new Error('FeatureStore: pass functionDefaults and nativeLayer together with api');
      }
      this.online = new FeatureOnlineStore(this, 'Online', {
        api: props.api,
        functionDefaults: props.functionDefaults,
        bucket: this.bucket,
        retain: props.retain,
        nativeLayer: props.nativeLayer,
        ephemeralStorageMiB: props.ephemeralStorageMiB,
      });
    }
  }

  /** Read the registry (every function that resolves feature definitions needs it). */
  grantReadRegistry(grantee: iam.IGrantable): iam.Grant {
    return this.bucket.grantRead(grantee, 'registry/*');
  }
}
