import { statSync } from 'node:fs';
import { join } from 'node:path';
import { BatchGetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { build } from 'esbuild';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { DynamoOnlineTable, ensureOnlineTable } from '../../lambdas/features/online/dynamo-online-table';
import { featureAttr, itemKey } from '../../lambdas/features/online/online-item';
import { getOnlineFeatures } from '../../lambdas/features/online/retrieval';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { httpApi } from '../../lambdas/platform/http/router';
import { servingBindings } from '../../lambdas/serving/api/bindings';
import { PredictionLog, sinkFor } from '../../lambdas/serving/domain/prediction-log';
import { loadServedModel, ModelHost } from '../../lambdas/serving/domain/served-model';
import { createOnnxScorer } from '../../lambdas/serving/inference/session';
import type { ModelVersion } from '../../lambdas/tracking/domain/model';
import { localDynamoClients, startDynamoDb } from '../../local/engines/dynamodb';
import type { BenchMeasurement, Benchmark } from '../harness';
import { servingFixture, writeEntities } from './fixture';

const TABLE = 'serving-bench';
const FEATURES = 10;
const ENTITIES = 10;
const TREES = 100;

/**
 * The predict handler in-process for 10 entity keys (routing, validation, online feature
 * fetch through the feature store's retrieval, one session.run of a 100-tree GBDT, the
 * response and the prediction log line) against a raw BatchGetItem of the same keys (the
 * low-level client, numbers read straight from the attribute values) plus a bare
 * session.run on a tensor built from the items. Requests alternate in blocks; the goal
 * is under 1 ms added at p99, as a ratio against the baseline p99 of the same run. Also
 * reports the cold start (registry lookup, model download, session creation) and the
 * bundle size of the function.
 */
export default (async (ctx) => {
  // 6,000 per side: p99 is then the 60th slowest, not the 20th; with 2,000 the added p99 of
  // the same code moved from +0.4 to +2.1 ms between runs on a quiet machine (the tail is the
  // in-process table's garbage collection, which lands on either side).
  const requests = ctx.quick ? 200 : 6_000;
  const block = 50;

  ctx.progress(`training a ${TREES}-tree GBDT on ${FEATURES} features`);
  const { names, onnx, signature, repo } = servingFixture(FEATURES, TREES);

  const store = new FsObjectStore(join(ctx.workDir, 's3'));
  await store.put('artifacts', 'models/m/model.onnx', onnx);
  await store.put('artifacts', 'models/m/signature.json', JSON.stringify(signature));
  const version: ModelVersion = {
    name: 'bench',
    version: '1',
    creation_timestamp: 0,
    last_updated_timestamp: 0,
    user_id: 'bench',
    current_stage: 'Production',
    description: '',
    source: 's3://artifacts/models/m/model.onnx',
    run_id: '',
    run_link: '',
    status: 'READY',
    status_message: '',
    tags: {},
  };
  const files = {
    registry: {
      getModel: async () => ({ model: { aliases: {} } as never, rev: 1, production: '1' }),
      getVersion: async () => version,
    },
    runs: { getRun: async () => undefined },
    store,
    bucket: 'artifacts',
  };

  // Cold start: ours resolves, reads and checks the model and creates the session; the
  // baseline only creates a session from bytes already in memory.
  const coldOurs: number[] = [];
  const coldBare: number[] = [];
  for (let i = 0; i < (ctx.quick ? 3 : 7); i++) {
    const m = await loadServedModel(
      { ...files, createScorer: createOnnxScorer, variant: 'bench', defaultFeatureService: 'svc' },
      { name: 'bench', stage: 'Production' },
    );
    coldOurs.push(m.loadMs);
    await m.scorer.release();
    const t0 = performance.now();
    const s = await InferenceSession.create(onnx);
    coldBare.push(performance.now() - t0);
    await s.release();
  }

  const ddb = await startDynamoDb();
  const { client, doc } = localDynamoClients(ddb.endpoint);
  try {
    await ensureOnlineTable(client, TABLE);
    const table = new DynamoOnlineTable(doc, TABLE);
    const population = 5_000;
    ctx.progress(`writing ${population} entities`);
    await writeEntities(table, names, population);

    const host = new ModelHost(() =>
      loadServedModel(
        { ...files, createScorer: createOnnxScorer, variant: 'bench', defaultFeatureService: 'svc' },
        { name: 'bench', version: '1' },
      ),
    );
    const handler = httpApi(
      servingBindings({
        modelName: 'bench',
        host,
        files,
        online: (req) => getOnlineFeatures({ repo, table }, req),
        // The real sink: a synchronous append per request, as the local runtime writes it.
        log: new PredictionLog(sinkFor({ MLOPS_LOCAL_DATA_DIR: ctx.workDir })),
        signerFor: () => {
          throw new Error('unused');
        },
      }),
    );
    await host.model();
    const bare = await InferenceSession.create(onnx);
    const projection = ['pk', 'ets', ...names.map(featureAttr)];

    let seed = 11;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const keySets = Array.from({ length: requests }, () =>
      Array.from({ length: ENTITIES }, () => Math.floor(rand() * population)),
    );
    const ours = async (users: number[]) => {
      const event = {
        httpMethod: 'POST',
        resource: '/v1/models/{name}/predict',
        path: '/v1/models/bench/predict',
        pathParameters: { name: 'bench' },
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ entities: { user_id: users } }),
        isBase64Encoded: false,
        requestContext: { requestId: 'r' },
      } as unknown as APIGatewayProxyEvent;
      const res = await handler(event, {} as Context);
      if (res.statusCode !== 200) throw new Error(`ours answered ${res.statusCode}: ${res.body}`);
    };
    const raw = async (users: number[]) => {
      const keys = [...new Set(users)].map((u) => ({ pk: itemKey('wide', String(u)), sk: 'v' }));
      const res = await client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [TABLE]: {
              Keys: keys.map((k) => ({ pk: { S: k.pk }, sk: { S: k.sk } })),
              ProjectionExpression: projection.map((_, i) => `#a${i}`).join(', '),
              ExpressionAttributeNames: Object.fromEntries(projection.map((p, i) => [`#a${i}`, p])),
            },
          },
        }),
      );
      const byKey = new Map((res.Responses?.[TABLE] ?? []).map((it) => [it.pk?.S as string, it]));
      const x = new Float64Array(users.length * FEATURES);
      users.forEach((u, i) => {
        const it = byKey.get(itemKey('wide', String(u)));
        names.forEach((f, j) => {
          const n = it?.[featureAttr(f)]?.N;
          x[i * FEATURES + j] = n === undefined ? Number.NaN : Number(n);
        });
      });
      await bare.run({ features: new Tensor('float64', x, [users.length, FEATURES]) }, ['probabilities']);
    };
    ctx.progress('warming up');
    for (const users of keySets.slice(0, 50)) {
      await raw(users);
      await ours(users);
    }
    const oursMs: number[] = [];
    const rawMs: number[] = [];
    // CPU time per block too: on a machine shared with other work, wall-clock percentiles
    // mostly measure the scheduler, while the CPU a request costs is its own.
    const cpu = { ours: 0, raw: 0 };
    const time = async (fn: (u: number[]) => Promise<void>, users: number[], into: number[]) => {
      const t0 = performance.now();
      await fn(users);
      into.push(performance.now() - t0);
    };
    const timeBlock = async (which: 'ours' | 'raw', slice: number[][]) => {
      const c0 = process.cpuUsage();
      for (const users of slice)
        await time(which === 'ours' ? ours : raw, users, which === 'ours' ? oursMs : rawMs);
      const c = process.cpuUsage(c0);
      cpu[which] += (c.user + c.system) / 1000;
    };
    for (let b = 0; b < requests; b += block) {
      if (b % (block * 10) === 0) ctx.progress(`requests ${b}/${requests}`);
      const slice = keySets.slice(b, b + block);
      const first = (b / block) % 2 === 0;
      await timeBlock(first ? 'raw' : 'ours', slice);
      await timeBlock(first ? 'ours' : 'raw', slice);
    }
    await bare.release();

    ctx.progress('bundling the predict function');
    const out = join(ctx.workDir, 'bundle', 'index.mjs');
    await build({
      entryPoints: ['lambdas/serving/handler.ts'],
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      mainFields: ['module', 'main'],
      outfile: out,
      // As PlatformFunction bundles it with the native layer (NATIVE_MODULES of
      // lib/private/native-layer.ts, not imported: aws-cdk-lib would join the measured heap).
      external: [
        '@aws-sdk/*',
        '@duckdb/node-api',
        '@duckdb/node-bindings',
        'onnxruntime-node',
        'onnxruntime-common',
      ],
      logLevel: 'silent',
    });
    const bundleKiB = Math.round(statSync(out).size / 1024);
    let ortMiB = 0;
    try {
      ortMiB = Number(
        (
          statSync('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1').size /
          2 ** 20
        ).toFixed(1),
      );
    } catch {
      // Not a linux-x64 install: reported as 0.
    }

    const pct = (xs: number[], p: number) =>
      [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] as number;
    const round = (x: number) => Number(x.toFixed(3));
    const p50o = pct(oursMs, 50);
    const p50b = pct(rawMs, 50);
    const p99o = pct(oursMs, 99);
    const p99b = pct(rawMs, 99);
    const extra = { entities: ENTITIES, features: FEATURES, trees: TREES, requests };
    const cpuOurs = cpu.ours / requests;
    const cpuRaw = cpu.raw / requests;
    const side = (o: number, b: number) =>
      `${o.toFixed(3)} vs ${b.toFixed(3)} ms (${o - b >= 0 ? '+' : ''}${(o - b).toFixed(3)})`;
    ctx.progress(
      `predict handler vs bare BatchGetItem + session.run: p50 ${side(p50o, p50b)}, p99 ${side(p99o, p99b)}, CPU per request ${side(cpuOurs, cpuRaw)}`,
    );
    const measured: BenchMeasurement[] = [
      {
        id: 'serving.predict.p50',
        ours: round(p50o),
        baseline: round(p50b),
        unit: 'ms',
        goal: {},
        extra: { ...extra, added_p50_ms: round(p50o - p50b) },
      },
      {
        id: 'serving.predict.p99',
        ours: round(p99o),
        baseline: round(p99b),
        unit: 'ms',
        // Under 1 ms added at p99, as a ratio against this run's baseline.
        goal: { ratioAtMost: Number(((p99b + 1) / p99b).toFixed(4)) },
        extra: { ...extra, added_p99_ms: round(p99o - p99b) },
      },
      {
        id: 'serving.predict.cpu-per-request',
        ours: round(cpuOurs),
        baseline: round(cpuRaw),
        unit: 'ms',
        goal: {},
        extra: { ...extra, added_cpu_ms: round(cpuOurs - cpuRaw) },
      },
      {
        id: 'serving.cold-start.gbdt100',
        ours: round(pct(coldOurs, 50)),
        baseline: round(pct(coldBare, 50)),
        unit: 'ms',
        goal: {},
        extra: {
          model_kib: Math.round(onnx.byteLength / 1024),
          bundle_kib: bundleKiB,
          onnxruntime_so_mib: ortMiB,
        },
      },
    ];
    return measured;
  } finally {
    client.destroy();
    await ddb.close();
  }
}) satisfies Benchmark;
