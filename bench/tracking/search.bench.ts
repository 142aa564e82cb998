import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { encodeDouble } from '../../lambdas/tracking/domain/order-key';
import { keys } from '../../lambdas/tracking/store/dynamo-keys';
import { startLocalRuntime } from '../../local/runtime';
import type { BenchMeasurement, Benchmark } from '../harness';

const PAGE = 100;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/**
 * `runs/search` with a filter over 10,000 runs of one experiment (quick: 2,000), through the
 * local gateway and function, against a raw DynamoDB Query of the same index with the same
 * filter as a FilterExpression, paged until it has the same page. And `log-batch` of 1,000
 * metrics against a raw BatchWriteItem of the same history items.
 */
export default (async (ctx) => {
  const runs = ctx.quick ? 2_000 : 10_000;
  // Enough samples that p99 is not simply the slowest one (it is the 3rd slowest of 300).
  const reps = ctx.quick ? 30 : 300;
  const warmup = 10;
  const dataDir = join(ctx.workDir, 'tracking');
  mkdirSync(dataDir, { recursive: true });
  const rt = await startLocalRuntime({ port: 0, dataDir, inMemory: true });
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: rt.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    }),
  );
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${rt.url}/api/2.0/mlflow/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    if (res.status !== 200) throw new Error(`${path}: ${JSON.stringify(json)}`);
    return json as any;
  };
  try {
    const { experiment_id } = await post('experiments/create', { name: 'bench' });
    ctx.progress(`seeding ${runs} runs`);
    // Seed runs directly in the table, in the stored shape, so seeding is not the benchmark.
    const items = Array.from({ length: runs }, (_, i) => {
      const runId = `r${String(i).padStart(31, '0')}`;
      const info = {
        run_id: runId,
        run_name: `run-${i}`,
        experiment_id,
        user_id: 'bench',
        status: 'FINISHED',
        start_time: 1_000_000 + i,
        artifact_uri: `mlflow-artifacts:/${experiment_id}/${runId}/artifacts`,
        lifecycle_stage: 'active',
      };
      const auc = ((i * 7919) % 1000) / 1000;
      return {
        ...keys.run(runId),
        ...keys.runIndex(experiment_id, info.start_time, runId),
        info,
        params: { model: i % 3 === 0 ? 'gbdt' : 'logistic', lr: '0.1', depth: String(i % 10) },
        tags: { 'mlflow.runName': info.run_name },
        metrics: {
          auc: { x: encodeDouble(auc), t: 1, s: 0, o: '' },
          loss: { x: encodeDouble(1 - auc), t: 1, s: 0, o: '' },
        },
        inputs: [],
      };
    });
    for (let i = 0; i < items.length; i += 25) {
      await db.send(
        new BatchWriteCommand({
          RequestItems: { tracking: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
      if (i % 2500 === 0) ctx.progress(`  ${i} runs`);
    }
    const filter = "metrics.auc > 0.5 AND params.model = 'gbdt'";
    const ours: number[] = [];
    const raw: number[] = [];
    const rawQuery = async () => {
      let found = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const res = await db.send(
          new QueryCommand({
            TableName: 'tracking',
            IndexName: 'gsi1',
            KeyConditionExpression: 'gsi1pk = :p',
            // Metric values are stored as their order-preserving hex encoding (`x`).
            FilterExpression: '#m.#auc.#x > :a AND #p.#model = :g AND #i.#lc = :active',
            ExpressionAttributeNames: {
              '#m': 'metrics',
              '#auc': 'auc',
              '#x': 'x',
              '#p': 'params',
              '#model': 'model',
              '#i': 'info',
              '#lc': 'lifecycle_stage',
            },
            ExpressionAttributeValues: {
              ':p': keys.runIndexPartition(experiment_id),
              ':a': encodeDouble(0.5),
              ':g': 'gbdt',
              ':active': 'active',
            },
            ScanIndexForward: false,
            ExclusiveStartKey: start,
            Limit: Math.min(1000, Math.max(25, (PAGE - found) * 2)),
          }),
        );
        found += res.Items?.length ?? 0;
        start = res.LastEvaluatedKey;
      } while (start && found < PAGE);
      return found;
    };
    ctx.progress(`timing ${reps} searches each`);
    for (let i = 0; i < reps + warmup; i++) {
      const a = await time(() =>
        post('runs/search', { experiment_ids: [experiment_id], filter, max_results: PAGE }),
      );
      const b = await time(rawQuery);
      if (i >= warmup) {
        ours.push(a);
        raw.push(b);
      }
    }
    const sorted = await time(() =>
      post('runs/search', {
        experiment_ids: [experiment_id],
        filter,
        max_results: PAGE,
        order_by: ['metrics.auc DESC'],
      }),
    );

    ctx.progress('timing log-batch of 1,000 metrics');
    const { run } = await post('runs/create', { experiment_id });
    const batchOurs: number[] = [];
    const batchRaw: number[] = [];
    for (let r = 0; r < (ctx.quick ? 3 : 8); r++) {
      const metrics = Array.from({ length: 1000 }, (_, i) => ({
        key: `m${i % 50}`,
        value: Math.random(),
        timestamp: 1000 + r,
        step: r * 1000 + i,
      }));
      batchOurs.push(await time(() => post('runs/log-batch', { run_id: run.info.run_id, metrics })));
      const historyItems = metrics.map((m) => ({
        pk: `BENCH#${r}#${m.key}`,
        sk: String(m.step),
        x: encodeDouble(m.value),
        t: m.timestamp,
        s: m.step,
      }));
      batchRaw.push(
        await time(async () => {
          const batches = [];
          for (let i = 0; i < historyItems.length; i += 25) batches.push(historyItems.slice(i, i + 25));
          await Promise.all(
            batches.map((b) =>
              db.send(
                new BatchWriteCommand({
                  RequestItems: { tracking: b.map((Item) => ({ PutRequest: { Item } })) },
                }),
              ),
            ),
          );
        }),
      );
    }
    const results: BenchMeasurement[] = [
      {
        id: 'tracking.runs-search.filtered.p99',
        ours: percentile(ours, 99),
        baseline: percentile(raw, 99),
        unit: 'ms',
        goal: { ratioAtMost: 3 },
        extra: {
          runs,
          page: PAGE,
          p50_ours_ms: percentile(ours, 50),
          p50_raw_ms: percentile(raw, 50),
          order_by_metric_ms: Math.round(sorted),
        },
      },
      {
        id: 'tracking.log-batch.1000-metrics.p50',
        ours: percentile(batchOurs, 50),
        baseline: percentile(batchRaw, 50),
        unit: 'ms',
        goal: {},
        extra: { p99_ours_ms: percentile(batchOurs, 99), p99_raw_ms: percentile(batchRaw, 99) },
      },
    ];
    return results;
  } finally {
    db.destroy();
    await rt.stop();
  }
}) satisfies Benchmark;
