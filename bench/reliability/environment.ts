import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { writeRegistry } from '../../lambdas/features/definitions/feature-registry-store';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { resolveEnvironment } from '../../local/resources';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { synthTemplate } from '../../local/synth';
import type { CfnTemplate } from '../../local/template';
import { trainTiny } from '../../test/serving/support';
import { type ServiceState, StateProbe, type StateSnapshot } from './state';

/** Text planted outside the artifact store; no answer may ever contain it. */
export const SENTINEL = 'RELIABILITY-SENTINEL-7f3a9c-must-never-be-served';

/** Records that exist in the seeded platform, for generated requests to aim at. */
export interface Seeds {
  readonly experimentId: string;
  readonly experimentName: string;
  readonly runId: string;
  /** `<experiment>/<run>/artifacts` under the artifact proxy. */
  readonly artifactRoot: string;
  /** The registered model, also the one the platform serves (version `modelVersion`, deployed). */
  readonly modelName: string;
  readonly modelVersion: string;
  readonly alias: string;
  /** JSON rows of the served model's features (`spend`, `plan`; a gap and an unseen category included). */
  readonly modelRows: readonly Record<string, number | string | null>[];
  /** The same rows as Open Inference Protocol v2 input tensors, one per feature. */
  readonly modelInputs: readonly { name: string; shape: number[]; datatype: string; data: unknown[] }[];
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
  /**
   * The tables and buckets that the template's log subscribers (the prediction log's
   * shipper) write what they are delivered into: a scored prediction's copies land there.
   */
  readonly logSubscribers: { readonly tables: readonly string[]; readonly buckets: readonly string[] };
  /**
   * Delivers what functions have logged to the template's log subscriptions now and waits
   * for their destinations, so their writes are counted with the request that logged.
   */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

// A name long enough that a backtracking LIKE matcher against it takes forever.
const LONG_NAME = 'a'.repeat(40);
/** The seeded registered model, which the platform serves. */
const MODEL_NAME = `model-${LONG_NAME}`;

/** The platform configuration the suite runs: the seeded model is the served one. */
export const RELIABILITY_CONFIG = { stage: 'local', serving: { modelName: MODEL_NAME } } as const;

/** The template the suite's platform runs (for building the route catalogue before it starts). */
export function reliabilityTemplate(): CfnTemplate {
  return synthTemplate(RELIABILITY_CONFIG);
}

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
    {
      name: 'usage',
      kind: 'push',
      columns: [
        { name: 'user_id', type: 'int64' },
        { name: 'ts', type: 'timestamp' },
        { name: 'spend', type: 'float64' },
        { name: 'plan', type: 'string' },
      ],
    },
  ],
  featureViews: [
    {
      name: 'usage',
      entities: ['user'],
      source: 'usage',
      timestampField: 'ts',
      features: [
        { name: 'spend', type: 'float64' },
        { name: 'plan', type: 'string' },
      ],
    },
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
  featureServices: [
    { name: 'clicks_service', features: ['clicks'] },
    // What the served model reads for entity keys (its run's `mlops.feature_service` tag).
    { name: 'usage_service', features: ['usage'] },
  ],
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

/** Polls `check` every 250 ms until it returns a value; throws `what` after `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`seeding: ${what} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The Lambda aliases, published versions and `$LATEST` environment of the template's
 * functions that have aliases (the serving function), as the local Lambda API keeps them:
 * a deployment request changes them, so the state checks must see them.
 */
function lambdaState(runtime: LocalRuntime): ServiceState {
  const functions = [...new Set(runtime.plan.aliases.map((a) => a.functionId))];
  type Alias = {
    Name: string;
    FunctionVersion: string;
    RoutingConfig?: { AdditionalVersionWeights?: object };
  };
  return {
    async capture() {
      const out = new Map<string, string>();
      for (const fn of functions) {
        for (const a of runtime.lambda.listAliases(fn).Aliases as Alias[]) {
          const weights = a.RoutingConfig?.AdditionalVersionWeights ?? {};
          out.set(`lambda ${fn} alias ${a.Name}`, JSON.stringify({ version: a.FunctionVersion, weights }));
        }
        const versions = runtime.lambda.listVersions(fn).Versions as { Version: string }[];
        out.set(`lambda ${fn} versions`, versions.map((v) => v.Version).join(','));
        const latest = runtime.lambda.getConfiguration(fn) as { Environment: { Variables: object } };
        out.set(`lambda ${fn} $LATEST environment`, JSON.stringify(latest.Environment.Variables));
      }
      return out;
    },
    async restore(to) {
      // Aliases move back; published versions stay (Lambda versions are immutable), and
      // `$LATEST` is only changed by a deployment that started, which the suite never lets through.
      for (const [key, value] of to) {
        const m = /^lambda (\S+) alias (\S+)$/.exec(key);
        if (!m) continue;
        const { version, weights } = JSON.parse(value) as { version: string; weights: object };
        runtime.lambda.updateAlias(m[1] as string, m[2] as string, {
          FunctionVersion: version,
          RoutingConfig: { AdditionalVersionWeights: weights },
        });
      }
    },
  };
}

/** The runtime's log subscriptions, where it runs them (a runtime without them has none). */
function logSubscriptionsOf(
  runtime: LocalRuntime,
): { subscriptions: readonly { destinationFunctionId: string }[]; flush(): Promise<void> } | undefined {
  return (runtime as { logSubscriptions?: ReturnType<typeof logSubscriptionsOf> }).logSubscriptions;
}

/** Tables and buckets the log subscriptions' destination functions are configured to use. */
function subscriberStores(runtime: LocalRuntime): ReliabilityEnv['logSubscribers'] {
  const tables = new Set<string>();
  const buckets = new Set<string>();
  for (const s of logSubscriptionsOf(runtime)?.subscriptions ?? []) {
    const fn = runtime.plan.functions.get(s.destinationFunctionId);
    if (!fn) continue;
    for (const value of Object.values(resolveEnvironment(fn, runtime.plan))) {
      if (runtime.plan.tables.some((t) => t.localName === value)) tables.add(value);
      if (runtime.plan.buckets.some((b) => b.localName === value)) buckets.add(value);
    }
  }
  return { tables: [...tables], buckets: [...buckets] };
}

/**
 * Starts a local platform of its own (so that no other suite's writes blur the state
 * checks) in a fresh sandbox directory, and seeds it: an experiment and a run with
 * metrics, params, tags and a trained model (ONNX, signature, MLmodel), that model
 * registered with a READY version, an alias, in Production, served by the platform's
 * predict function and deployed through the canary workflow (so its version is live and
 * the deployment routes have a record), a feature repository with push sources and online
 * rows (the served model's features among them), and sentinel files beside the object
 * store that traversal must never reach.
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
    config: RELIABILITY_CONFIG,
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
      tags: [
        { key: 'note', value: LONG_NAME },
        { key: 'mlops.feature_service', value: 'usage_service' },
      ],
    });
    const artifactRoot = (run.info.artifact_uri as string).replace(/^mlflow-artifacts:\/+/, '');
    // A GBDT trained by the platform's own trainers, on a numeric feature with gaps and a categorical one.
    const model = trainTiny('gbdt');
    await putArtifact(
      url,
      artifactRoot,
      'model/MLmodel',
      'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n',
    );
    await putArtifact(url, artifactRoot, 'model/model.onnx', model.onnx);
    await putArtifact(url, artifactRoot, 'model/signature.json', JSON.stringify(model.signature));
    await putArtifact(url, artifactRoot, 'notes.txt', 'seeded');
    await api(url, 'POST', '/api/2.0/mlflow/registered-models/create', { name: MODEL_NAME });
    const version = (
      await api(url, 'POST', '/api/2.0/mlflow/model-versions/create', {
        name: MODEL_NAME,
        source: `runs:/${runId}/model`,
        run_id: runId,
      })
    ).model_version.version as string;
    await api(url, 'POST', '/api/2.0/mlflow/registered-models/alias', {
      name: MODEL_NAME,
      alias: 'champion',
      version,
    });
    await api(url, 'POST', '/api/2.0/mlflow/model-versions/transition-stage', {
      name: MODEL_NAME,
      version,
      stage: 'Production',
    });

    const store = new FsObjectStore(s3Root);
    await writeRegistry(store, 'features', buildRepo({ file: featureDefinitions }), 0);
    const now = Date.now();
    const ts = [0, 1, 2].map((i) => new Date(now - (i + 1) * 60_000).toISOString());
    await api(url, 'POST', '/features/push', {
      push_source_name: 'clicks',
      df: { user_id: [1, 2, 3], ts, n: [10, 20, 30], label: ['x', LONG_NAME, 'z'] },
      to: 'online',
    });
    await api(url, 'POST', '/features/push', {
      push_source_name: 'usage',
      df: { user_id: [1, 2, 3], ts, spend: [35, 62.5, null], plan: ['basic', 'pro', 'team'] },
      to: 'online',
    });

    // The function started before the model was registered: it retries its load once a second.
    onProgress?.('waiting for the served model, then deploying it through the canary workflow');
    const ready = `${url}/v2/models/${encodeURIComponent(MODEL_NAME)}/ready`;
    await until('the served model did not become ready', 60_000, async () =>
      (await fetch(ready)).status === 200 ? true : undefined,
    );
    // Pinning the version through the workflow leaves it live: every deployment request the
    // suite sends is then refused before it starts anything, and rollback has a deployment to undo.
    await api(url, 'POST', '/v1/deployments', { model: MODEL_NAME, version, steps: [100], bake_seconds: 0 });
    await until('the seeded deployment did not go live', 120_000, async () => {
      const status = await api(url, 'GET', `/v1/deployments/${encodeURIComponent(MODEL_NAME)}`);
      const record = (status.deployments as Record<string, string>[]).find((d) => d.version === version);
      if (record && !['canary', 'live'].includes(record.status as string))
        throw new Error(`seeding: the deployment ended ${record.status}: ${JSON.stringify(record)}`);
      return record?.status === 'live' && status.live.model_version === version ? true : undefined;
    });
    const modelInputs = model.signature.inputs.map((i) => ({
      name: i.name,
      shape: [model.rows.length],
      datatype: i.type === 'double' ? 'FP64' : 'BYTES',
      data: model.rows.map((r) => r[i.name] ?? null),
    }));
    // One prediction each way and an export, so the prediction log and the local signing
    // key exist in the seed (a restore would otherwise remove files the functions hold open).
    const path = `/v1/models/${encodeURIComponent(MODEL_NAME)}`;
    const predicted = await api(url, 'POST', `${path}/predict`, { instances: model.rows });
    if (predicted.predictions?.length !== model.rows.length)
      throw new Error(`seeding: predict answered ${JSON.stringify(predicted)}`);
    await api(url, 'POST', `/v2/models/${encodeURIComponent(MODEL_NAME)}/infer`, { inputs: modelInputs });
    await api(url, 'GET', `${path}/versions/${version}/export`);

    const tables = runtime.plan.tables.map((t) => ({
      name: t.localName,
      keys: (t.properties.KeySchema as { AttributeName: string }[]).map((k) => k.AttributeName),
    }));
    const probe = new StateProbe(client, tables, sandbox, lambdaState(runtime));
    const settle = async () => {
      await logSubscriptionsOf(runtime)?.flush();
    };
    await settle();
    const seeded = await probe.capture(true);
    return {
      runtime,
      url,
      seeds: {
        experimentId,
        experimentName: LONG_NAME,
        runId,
        artifactRoot,
        modelName: MODEL_NAME,
        modelVersion: version,
        alias: 'champion',
        modelRows: model.rows,
        modelInputs,
        pushSource: 'clicks',
        featureRefs: ['clicks:n', 'clicks:label'],
        entityKey: 'user_id',
      },
      probe,
      seeded,
      sandbox,
      s3Root,
      dynamo: client,
      logSubscribers: subscriberStores(runtime),
      settle,
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
