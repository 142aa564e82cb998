import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { DynamoOnlineTable, ensureOnlineTable } from '../../lambdas/features/online/dynamo-online-table';
import { featureAttr, itemKey } from '../../lambdas/features/online/online-item';
import { getOnlineFeatures } from '../../lambdas/features/online/retrieval';
import { localDynamoClients, startDynamoDb } from '../../local/engines/dynamodb';
import type { Benchmark } from '../harness';

const TABLE = 'online-bench';
const FEATURES = 20;
const ENTITIES = 100;

/**
 * get-online-features for 100 entities x 20 features (ours: validation, one BatchGetItem of
 * the 100 keys projecting the 20 attributes, TTL and status per cell, Feast's response) against
 * the raw BatchGetItem of the same keys and projection, both in-process against dynalite.
 * Requests alternate in blocks so both sides share the machine's noise; p50 and p99 latency.
 */
export default (async (ctx) => {
  const population = 10_000;
  const requests = ctx.quick ? 200 : 1_000;
  const block = 50;
  const names = Array.from({ length: FEATURES }, (_, i) => `f${i}`);
  const repo = buildRepo({
    file: {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
      sources: [
        {
          name: 'wide',
          kind: 'push',
          columns: [
            { name: 'user_id', type: 'int64' },
            { name: 'ts', type: 'timestamp' },
            ...names.map((name) => ({ name, type: 'float64' })),
          ],
        },
      ],
      featureViews: [
        {
          name: 'wide',
          entities: ['user'],
          source: 'wide',
          timestampField: 'ts',
          ttl: '30d',
          features: names.map((name) => ({ name, type: 'float64' })),
        },
      ],
    },
  });
  const ddb = await startDynamoDb();
  const { client, doc } = localDynamoClients(ddb.endpoint);
  try {
    // The table as the CDK construct defines it, ready before anything is timed.
    await ensureOnlineTable(client, TABLE);
    const table = new DynamoOnlineTable(doc, TABLE);
    ctx.progress(`writing ${population} entities x ${FEATURES} features`);
    const now = Date.now() * 1000;
    // Plus 10 unused attributes per item, so projecting only the requested ones matters.
    const extra = Array.from({ length: 10 }, (_, i) => [`f_other${i}`, 'x'.repeat(40)]);
    await table.putItems(
      Array.from({ length: population }, (_, u) => ({
        pk: itemKey('wide', String(u)),
        ets: now - (u % 1000) * 1e6,
        cts: Number.MIN_SAFE_INTEGER,
        asof: 0,
        attrs: {
          ...Object.fromEntries(names.map((n, j) => [featureAttr(n), u * 0.5 + j])),
          ...Object.fromEntries(extra),
        },
      })),
    );
    // The same random key sets for both sides; some keys are unknown (NOT_FOUND).
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const keySets = Array.from({ length: requests }, () =>
      Array.from({ length: ENTITIES }, () => Math.floor(rand() * population * 1.05)),
    );
    const features = names.map((n) => `wide:${n}`);
    const projection = ['pk', 'ets', 'cts', 'asof', 'rev', ...names.map(featureAttr)];
    const ours = async (users: number[]) => {
      const res = await getOnlineFeatures({ repo, table }, { features, entities: { user_id: users } });
      if (res.results.length !== FEATURES + 1) throw new Error('ours answered the wrong shape');
    };
    const raw = async (users: number[]) => {
      const keys = [...new Set(users)].map((u) => ({ pk: itemKey('wide', String(u)), sk: 'v' }));
      let pending: Record<string, unknown>[] = keys;
      while (pending.length > 0) {
        const res = await doc.send(
          new BatchGetCommand({
            RequestItems: {
              [TABLE]: {
                Keys: pending,
                ProjectionExpression: projection.map((_, i) => `#a${i}`).join(', '),
                ExpressionAttributeNames: Object.fromEntries(projection.map((n, i) => [`#a${i}`, n])),
              },
            },
          }),
        );
        pending = (res.UnprocessedKeys?.[TABLE]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      }
    };
    ctx.progress('warming up');
    for (const users of keySets.slice(0, 30)) {
      await raw(users);
      await ours(users);
    }
    const oursMs: number[] = [];
    const rawMs: number[] = [];
    const time = async (fn: (u: number[]) => Promise<void>, users: number[], into: number[]) => {
      const t0 = performance.now();
      await fn(users);
      into.push(performance.now() - t0);
    };
    for (let b = 0; b < requests; b += block) {
      if (b % (block * 4) === 0) ctx.progress(`requests ${b}/${requests}`);
      const slice = keySets.slice(b, b + block);
      // Alternate which side goes first so neither always runs on a warmer cache.
      const first = (b / block) % 2 === 0;
      for (const users of slice) await time(first ? raw : ours, users, first ? rawMs : oursMs);
      for (const users of slice) await time(first ? ours : raw, users, first ? oursMs : rawMs);
    }
    const pct = (xs: number[], p: number) =>
      [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] as number;
    const round = (x: number) => Number(x.toFixed(2));
    const extraInfo = { entities: ENTITIES, features: FEATURES, requests, population };
    return [
      {
        id: 'features.get-online-features.p50',
        ours: round(pct(oursMs, 50)),
        baseline: round(pct(rawMs, 50)),
        unit: 'ms',
        goal: {},
        extra: extraInfo,
      },
      {
        id: 'features.get-online-features.p99',
        ours: round(pct(oursMs, 99)),
        baseline: round(pct(rawMs, 99)),
        unit: 'ms',
        goal: { ratioAtMost: 1.3 },
        extra: extraInfo,
      },
    ];
  } finally {
    client.destroy();
    await ddb.close();
  }
}) satisfies Benchmark;
