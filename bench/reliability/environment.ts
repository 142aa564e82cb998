import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { writeRegistry } from '../../lambdas/features/definitions/feature-registry-store';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import type { CfnTemplate } from '../../local/template';
import { classifierOnnx } from '../../test/support/onnx-fixtures';
import { StateProbe, type StateSnapshot } from './state';

/** Text planted outside the artifact store; no answer may ever contain it. */
export const SENTINEL = 'RELIABILITY-SENTINEL-7f3a9c-must-never-be-served';

/** Records that exist in the seeded platform, for generated requests to aim at. */
export interface Seeds {
  readonly experimentId: string;
  readonly experimentName: string;
  readonly runId: string;
  /** `<experiment>/<run>/artifacts` under the artifact proxy. */
  readonly artifactRoot: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly alias: string;
  readonly pushSource: string;
  readonly featureRefs: readonly string[];
  readonly entityKey: string;
}

export interface ReliabilityEnv {
  readonly runtime: LocalRuntime;
  readonly url: string;
  readonly seeds: Seeds;
  readonly probe: StateProbe;
  /** The seeded state, with file contents, to restore between routes. */
  readonly seeded: StateSnapshot;
  /** The sandbox directory: the data dir and the sentinels outside the store live here. */
  readonly sandbox: string;
  readonly s3Root: string;
  readonly dynamo: DynamoDBClient;
  stop(): Promise<void>;
}

// A name long enough that a backtracking LIKE matcher against it takes forever.
const LONG_NAME = 'a'.repeat(40);

const featureDefinitions = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: [
    {
      name: 'clicks',
      kind: 'push',
      columns: [
        { name: 'user_id', type: 'int64' },
        { name: 'ts', type: 'timestamp' },
        { name: 'n', type: 'int64' },
        { name: 'label', type: 'string' },
      ],
    },
  ],
  featureViews: [
    {
      name: 'clicks',
      entities: ['user'],
      source: 'clicks',
      timestampField: 'ts',
      features: [
        { name: 'n', type: 'int64' },
        { name: 'label', type: 'string' },
      ],
    },
  ],
  featureServices: [{ name: 'clicks_service', features: ['clicks'] }],
};

// biome-ignore lint/suspicious/noExplicitAny: seeding reads a few fields of each answer.
async function api(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`seeding: ${method} ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : {};
}

async function putArtifact(url: string, root: string, path: string, body: Uint8Array | string) {
  const res = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
  if (res.status !== 200)
    throw new Error(`seeding: artifact ${path} answered ${res.status}: ${await res.text()}`);
}

/**
 * Starts a local platform of its own (so that no other suite's writes blur the state
 * checks) in a fresh sandbox directory, and seeds it: an experiment and a run with
 * metrics, params, tags and an ONNX model artifact, a registered model with a READY
 * version and an alias, a feature repository with a push source and online rows, and
 * sentinel files beside the object store that traversal must never reach.
 */
export async function startReliabilityEnv(
  options: { onProgress?: (m: string) => void; template?: CfnTemplate } = {},
): Promise<ReliabilityEnv> {
  const { onProgress, template } = options;
  const sandbox = mkdtempSync(join(tmpdir(), 'mlops-reliability-'));
  const dataDir = join(sandbox, 'data');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(sandbox, 'sentinel.txt'), SENTINEL);
  writeFileSync(join(dataDir, 'sentinel.txt'), SENTINEL);
  const runtime = await startLocalRuntime({
    port: 0,
    dataDir,
    inMemory: true,
    logLevel: 'CRITICAL',
    onProgress,
    template,
  });
  const s3Root = runtime.env.MLOPS_LOCAL_S3_ROOT as string;
  writeFileSync(join(s3Root, 'sentinel.txt'), SENTINEL);
  const { client } = localDynamoClients(runtime.dynamodbEndpoint);
  try {
    const url = runtime.url;
    onProgress?.('seeding the platform');
    const exp = await api(url, 'POST', '/api/2.0/mlflow/experiments/create', {
      name: LONG_NAME,
      tags: [{ key: 'team', value: 'reliability' }],
    });
    const experimentId = exp.experiment_id as string;
    const run = (
      await api(url, 'POST', '/api/2.0/mlflow/runs/create', {
        experiment_id: experimentId,
        run_name: LONG_NAME,
        tags: [{ key: 'stage', value: 'seed' }],
      })
    ).run;
    const runId = run.info.run_id as string;
    await api(url, 'POST', '/api/2.0/mlflow/runs/log-batch', {
      run_id: runId,
      metrics: [
        { key: 'loss', value: 0.5, timestamp: 1, step: 0 },
        { key: 'loss', value: 0.25, timestamp: 2, step: 1 },
      ],
      params: [{ key: 'lr', value: '0.1' }],
      tags: [{ key: 'note', value: LONG_NAME }],
    });
    const artifactRoot = (run.info.artifact_uri as string).replace(/^mlflow-artifacts:\/+/, '');
    await putArtifact(
      url,
      artifactRoot,
      'model/MLmodel',
      'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n',
    );
    await putArtifact(url, artifactRoot, 'model/model.onnx', classifierOnnx(false));
    await putArtifact(url, artifactRoot, 'notes.txt', 'seeded');
    const modelName = `model-${LONG_NAME}`;
    await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', { name: modelName });
    const version = (
      await api(url, 'POST', '/api/2.0/mlflow/model-versions/create', {
        name: modelName,
        source: `runs:/${runId}/model`,
        run_id: runId,
      })
    ).model_version.version as string;
    await api(url, 'POST', '/api/2.0/mlflow/registered-models/alias', {
      name: modelName,
      alias: 'champion',
      version,
    });

    const store = new FsObjectStore(s3Root);
    await writeRegistry(store, 'features', buildRepo({ file: featureDefinitions }), 0);
    const now = Date.now();
    await api(url, 'POST', '/features/push', {
      push_source_name: 'clicks',
      df: {
        user_id: [1, 2, 3],
        ts: [0, 1, 2].map((i) => new Date(now - (i + 1) * 60_000).toISOString()),
        n: [10, 20, 30],
        label: ['x', LONG_NAME, 'z'],
      },
      to: 'online',
    });

    const tables = runtime.plan.tables.map((t) => ({
      name: t.localName,
      keys: (t.properties.KeySchema as { AttributeName: string }[]).map((k) => k.AttributeName),
    }));
    const probe = new StateProbe(client, tables, sandbox);
    const seeded = await probe.capture(true);
    return {
      runtime,
      url,
      seeds: {
        experimentId,
        experimentName: LONG_NAME,
        runId,
        artifactRoot,
        modelName,
        modelVersion: version,
        alias: 'champion',
        pushSource: 'clicks',
        featureRefs: ['clicks:n', 'clicks:label'],
        entityKey: 'user_id',
      },
      probe,
      seeded,
      sandbox,
      s3Root,
      dynamo: client,
      async stop() {
        client.destroy();
        await runtime.stop();
        rmSync(sandbox, { recursive: true, force: true });
      },
    };
  } catch (err) {
    client.destroy();
    await runtime.stop();
    rmSync(sandbox, { recursive: true, force: true });
    throw err;
  }
}
