import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { awsClients } from '../../platform/aws-clients';
import { httpApi } from '../../platform/http/router';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../../tracking/store/dynamo-tracking-store';
import { createBatchScorer } from '../inference/worker-scorer';
import { type BatchExecution, batchScoringBindings } from './api';
import { batchEngine } from './batch-engine';
import {
  type BatchPlan,
  type BatchWorkflowDeps,
  cleanupBatchJob,
  planBatchJob,
  type Shard,
  scoreShard,
  writeBatchManifest,
} from './workflow';

const env = process.env;
const TABLE = env.TABLE ?? 'tracking';
const ARTIFACTS_BUCKET = env.ARTIFACTS_BUCKET ?? 'artifacts';
const FEATURES_BUCKET = env.FEATURES_BUCKET ?? 'features';
const STATE_MACHINE_ARN = env.STATE_MACHINE_ARN ?? '';

const clients = awsClients();
const registry = new DynamoRegistryStore(clients.dynamodb, TABLE);
/** The workflow steps' stores and engine, built once per container. */
export const deps: BatchWorkflowDeps = {
  models: {
    registry,
    runs: createDynamoTrackingStore(clients.dynamodb, TABLE),
    store: clients.objectStore,
    bucket: ARTIFACTS_BUCKET,
    createScorer: (bytes) => createBatchScorer(bytes),
  },
  store: clients.objectStore,
  workBucket: ARTIFACTS_BUCKET,
  inputBuckets: [ARTIFACTS_BUCKET, FEATURES_BUCKET],
  // One DuckDB per step: its memory limit follows the function's (runtimeSettings).
  engine: () => batchEngine(),
};

/** Step Functions task: check the job, resolve the version, write the shard list. */
export const plan = (event: { request: unknown; execution: string }) => planBatchJob(deps, event);

/** Distributed Map item: score one shard and put its part object. */
export const score = (event: { plan: BatchPlan; shard: Shard }) => scoreShard(deps, event);

/** Step Functions task: the manifest, from the Map's result files. */
export const manifest = (event: { plan: BatchPlan; results: { manifest: string }; execution: string }) =>
  writeBatchManifest(deps, event);

/** Step Functions task (failure path): delete the parts a failed job wrote. */
export const cleanup = (event: { plan?: BatchPlan; execution: string }) => cleanupBatchJob(deps, event);

const executionArn = (name: string) =>
  `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;

/** POST /v1/batch-scoring and GET /v1/batch-scoring/{id} behind the platform API. */
export const api = httpApi(
  batchScoringBindings({
    registry,
    store: clients.objectStore,
    workBucket: ARTIFACTS_BUCKET,
    inputBuckets: [ARTIFACTS_BUCKET, FEATURES_BUCKET],
    workflow: {
      async start(name, input) {
        const out = await clients.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: STATE_MACHINE_ARN,
            name,
            input: JSON.stringify(input),
          }),
        );
        return { executionArn: out.executionArn as string };
      },
      async describe(name): Promise<BatchExecution | undefined> {
        try {
          const d = await clients.sfn.send(
            new DescribeExecutionCommand({ executionArn: executionArn(name) }),
          );
          return {
            status: d.status as BatchExecution['status'],
            ...(d.startDate ? { startDate: new Date(d.startDate).toISOString() } : {}),
            ...(d.stopDate ? { stopDate: new Date(d.stopDate).toISOString() } : {}),
            ...(d.output ? { output: d.output } : {}),
            ...(d.error ? { error: d.error } : {}),
            ...(d.cause ? { cause: d.cause } : {}),
          };
        } catch (err) {
          if ((err as Error).name === 'ExecutionDoesNotExist') return undefined;
          throw err;
        }
      },
    },
  }),
);
