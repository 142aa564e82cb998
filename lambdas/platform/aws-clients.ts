import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FsObjectStore } from './fs-object-store';
import type { ObjectStore } from './object-store';
import { S3ObjectStore } from './s3-object-store';

type Service = 'dynamodb' | 's3' | 'eventbridge' | 'sfn' | 'athena' | 'sns' | 'glue' | 'cloudwatch';

/**
 * The endpoint for a service: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`
 * (the SDK's own convention), so the local runtime and tests point the same code at
 * dynalite and friends without a code path of their own.
 */
export function endpointFor(service: Service, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const specific = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`];
  return specific || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * How many times an SDK call is tried before its error reaches the caller (then mapped to
 * a 503 TEMPORARILY_UNAVAILABLE, see errors.ts). The SDK default of 3 gives up after about
 * 1.5 s of a DynamoDB throttling burst; 5 attempts with the standard strategy's jittered
 * backoff (500 ms base for throttling, doubling) wait at most 7.5 s, well inside API
 * Gateway's 29 s. `AWS_MAX_ATTEMPTS` overrides, as the SDK's own convention.
 */
export const DEFAULT_MAX_ATTEMPTS = 5;

/**
 * The configuration every client of a service is built with: endpoint, region, retry
 * strategy, and for S3 the path-style and checksum settings local servers need. Exported
 * so tests build clients exactly as the Lambdas do, adding only a transport.
 *
 * @example
 * const s3 = new S3Client({ ...clientConfig('s3'), requestHandler });
 */
export function clientConfig(service: Service, env: NodeJS.ProcessEnv = process.env) {
  const endpoint = endpointFor(service, env);
  return {
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    // Standard, not adaptive: adaptive's client-side rate limiter lives for the whole warm
    // container and would slow every later call after one throttled burst.
    retryMode: 'standard',
    maxAttempts: Number(env.AWS_MAX_ATTEMPTS) || DEFAULT_MAX_ATTEMPTS,
    // Local engines accept any credentials; never let the SDK go looking for real ones.
    ...(endpoint && !env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    ...(service === 's3'
      ? {
          forcePathStyle: Boolean(endpoint),
          // S3-compatible local servers reject the SDK's default CRC checksums.
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
  };
}

/** AWS SDK clients, created lazily (cold start pays only for what a function uses). */
export interface AwsClients {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly eventBridge: EventBridgeClient;
  readonly sfn: SFNClient;
  readonly athena: AthenaClient;
  readonly sns: SNSClient;
  readonly cloudwatch: CloudWatchClient;
  /** The object store: the local filesystem when `MLOPS_LOCAL_S3_ROOT` is set, S3 otherwise. */
  readonly objectStore: ObjectStore;
}

/**
 * Builds (memoized per environment object) the clients a function needs.
 *
 * @example
 * const { dynamodb } = awsClients();
 * await dynamodb.send(new GetCommand({ TableName, Key }));
 */
export function awsClients(env: NodeJS.ProcessEnv = process.env): AwsClients {
  const cached = cache.get(env);
  if (cached) return cached;
  const memo = new Map<string, unknown>();
  const lazy = <T>(name: string, make: () => T): T => {
    if (!memo.has(name)) memo.set(name, make());
    return memo.get(name) as T;
  };
  const clients: AwsClients = {
    get dynamodb() {
      return lazy('dynamodb', () =>
        DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig('dynamodb', env)), {
          marshallOptions: { removeUndefinedValues: true },
        }),
      );
    },
    get s3() {
      return lazy('s3', () => new S3Client(clientConfig('s3', env)));
    },
    get eventBridge() {
      return lazy('eventbridge', () => new EventBridgeClient(clientConfig('eventbridge', env)));
    },
    get sfn() {
      return lazy('sfn', () => new SFNClient(clientConfig('sfn', env)));
    },
    get athena() {
      return lazy('athena', () => new AthenaClient(clientConfig('athena', env)));
    },
    get sns() {
      return lazy('sns', () => new SNSClient(clientConfig('sns', env)));
    },
    get cloudwatch() {
      return lazy('cloudwatch', () => new CloudWatchClient(clientConfig('cloudwatch', env)));
    },
    get objectStore() {
      return lazy<ObjectStore>('objectStore', () =>
        env.MLOPS_LOCAL_S3_ROOT ? new FsObjectStore(env.MLOPS_LOCAL_S3_ROOT) : new S3ObjectStore(this.s3),
      );
    },
  };
  cache.set(env, clients);
  return clients;
}

const cache = new WeakMap<NodeJS.ProcessEnv, AwsClients>();
