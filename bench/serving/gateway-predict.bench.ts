import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { writeRegistry } from '../../lambdas/features/definitions/feature-registry-store';
import { DynamoOnlineTable } from '../../lambdas/features/online/dynamo-online-table';
import { featureAttr, itemKey } from '../../lambdas/features/online/online-item';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { resolveEnvironment } from '../../local/resources';
import { startLocalRuntime } from '../../local/runtime';
import type { Benchmark } from '../harness';
import { runLoad } from '../support/load';
import { servingFixture, writeEntities } from './fixture';

const FEATURES = 10;
const ENTITIES = 10;
const TREES = 100;
const NAME = 'bench-served';

/**
 * `POST /v1/models/{name}/predict` for 10 entity keys through the local gateway (route match,
 * proxy event, the serving function's worker thread and middy wrapper, online retrieval, one
 * session.run of a 100-tree GBDT, the prediction log line) against a bare node:http server
 * doing the same work in this process: parse the body, BatchGetItem the same keys, build the
 * tensor, run the same model, answer the predictions. Requests per second; goal at least 0.7.
 */
const bench: Benchmark = async (ctx) => {
  ctx.progress(`training a ${TREES}-tree GBDT on ${FEATURES} features`);
  const fx = servingFixture(FEATURES, TREES);
  const rt = await startLocalRuntime({
    port: 0,
    inMemory: true,
    dataDir: join(ctx.workDir, 'gateway'),
    config: { serving: { modelName: NAME }, pipeline: { featureService: 'svc' } },
  });
  const { client, doc } = localDynamoClients(rt.dynamodbEndpoint);
  const bare = createServer();
  try {
    const fn = [...rt.plan.functions.values()].find((f) => f.environment.MODEL_NAME !== undefined);
    if (!fn) throw new Error('the template has no serving function');
    const fnEnv = resolveEnvironment(fn, rt.plan);
    const onlineTable = fnEnv.ONLINE_TABLE as string;
    await writeRegistry(
      new FsObjectStore(rt.env.MLOPS_LOCAL_S3_ROOT as string),
      fnEnv.FEATURES_BUCKET as string,
      fx.repo,
      0,
    );
    const population = 2_000;
    ctx.progress(`writing ${population} entities`);
    await writeEntities(new DynamoOnlineTable(doc, onlineTable), fx.names, population);

    ctx.progress('registering the model through the MLflow API');
    const api = async (path: string, body: unknown) => {
      const res = await fetch(`${rt.url}/api/2.0/mlflow/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      // biome-ignore lint/suspicious/noExplicitAny: MLflow response bodies
      return (await res.json()) as any;
    };
    await api('registered-models/create', { name: NAME });
    const exp = await api('experiments/create', { name: `${NAME}-exp` });
    const run = (await api('runs/create', { experiment_id: exp.experiment_id })).run;
    const root = String(run.info.artifact_uri).replace(/^mlflow-artifacts:\//, '');
    const files: [string, Uint8Array | string][] = [
      ['model.onnx', fx.onnx],
      ['signature.json', JSON.stringify(fx.signature)],
      ['MLmodel', 'flavors:\n  onnx:\n    data: model.onnx\n'],
    ];
    for (const [file, body] of files) {
      const res = await fetch(`${rt.url}/api/2.0/mlflow-artifacts/artifacts/${root}/model/${file}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body,
      });
      if (!res.ok) throw new Error(`artifact ${file}: ${res.status}`);
    }
    await api('model-versions/create', {
      name: NAME,
      source: `runs:/${run.info.run_id}/model`,
      run_id: run.info.run_id,
    });
    await api('model-versions/transition-stage', { name: NAME, version: '1', stage: 'Production' });
    let ready = 0;
    for (let i = 0; i < 80 && ready !== 200; i++) {
      ready = (await fetch(`${rt.url}/v2/models/${NAME}/ready`)).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    if (ready !== 200) throw new Error('the served model never became ready');

    // The baseline: the same reads and model call, nothing else.
    const session = await InferenceSession.create(fx.onnx);
    const projection = ['pk', 'ets', ...fx.names.map(featureAttr)];
    const names = Object.fromEntries(projection.map((p, i) => [`#a${i}`, p]));
    const projectionExpression = projection.map((_, i) => `#a${i}`).join(', ');
    bare.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const users = (
          JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entities: { user_id: number[] } }
        ).entities.user_id;
        const out = await doc.send(
          new BatchGetCommand({
            RequestItems: {
              [onlineTable]: {
                Keys: [...new Set(users)].map((u) => ({ pk: itemKey('wide', String(u)), sk: 'v' })),
                ProjectionExpression: projectionExpression,
                ExpressionAttributeNames: names,
              },
            },
          }),
        );
        const byKey = new Map((out.Responses?.[onlineTable] ?? []).map((it) => [it.pk as string, it]));
        const x = new Float64Array(users.length * FEATURES);
        users.forEach((u, i) => {
          const it = byKey.get(itemKey('wide', String(u)));
          fx.names.forEach((f, j) => {
            x[i * FEATURES + j] = Number(it?.[featureAttr(f)] ?? Number.NaN);
          });
        });
        const r = await session.run({ features: new Tensor('float64', x, [users.length, FEATURES]) }, [
          'probabilities',
        ]);
        const p = r.probabilities!.data as Float64Array | Float32Array;
        const body = JSON.stringify({
          predictions: Array.from({ length: users.length }, (_, i) => p[i * 2 + 1]),
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/v1/models/${NAME}/predict`;
    const oursUrl = `${rt.url}/v1/models/${NAME}/predict`;

    const body = JSON.stringify({
      entities: { user_id: Array.from({ length: ENTITIES }, (_, i) => (i * 197) % population) },
    });
    const load = (url: string, durationMs: number, connections: number) =>
      runLoad({
        url,
        connections,
        durationMs,
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
    const durationMs = ctx.quick ? 1000 : 3000;
    const rounds = ctx.quick ? 1 : 3;
    const connections = 8;
    const check = await fetch(oursUrl, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    if (check.status !== 200) throw new Error(`predict answered ${check.status}: ${await check.text()}`);
    await load(bareUrl, 500, connections);
    await load(oursUrl, 500, connections);
    const bareRps: number[] = [];
    const oursRps: number[] = [];
    const oursP50: number[] = [];
    const bareP50: number[] = [];
    for (let i = 0; i < rounds; i++) {
      ctx.progress(`predict round ${i + 1}/${rounds}`);
      // Alternate which goes first so drifting load on the machine is shared.
      const pair = i % 2 === 0 ? [bareUrl, oursUrl] : [oursUrl, bareUrl];
      for (const url of pair) {
        const r = await load(url, durationMs, connections);
        if (r.non2xx > 0) throw new Error(`${url} answered ${r.non2xx} non-2xx responses`);
        (url === oursUrl ? oursRps : bareRps).push(r.rps);
        (url === oursUrl ? oursP50 : bareP50).push(r.p50Ms);
      }
    }
    await session.release();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    return [
      {
        id: 'serving.gateway.predict-rps',
        ours: Math.round(median(oursRps)),
        baseline: Math.round(median(bareRps)),
        unit: 'req/s',
        goal: { ratioAtLeast: 0.7 },
        extra: {
          entities: ENTITIES,
          features: FEATURES,
          trees: TREES,
          connections,
          durationMs,
          rounds,
          oursP50Ms: Number(median(oursP50).toFixed(2)),
          bareP50Ms: Number(median(bareP50).toFixed(2)),
        },
      },
    ];
  } finally {
    client.destroy();
    await new Promise<void>((r) => (bare.listening ? bare.close(() => r()) : r()));
    await rt.stop();
  }
};

export default bench;
