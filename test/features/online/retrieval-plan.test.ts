import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRepo } from '../../../lambdas/features/definitions/repo';
import { featureAttr, itemKey } from '../../../lambdas/features/online/online-item';
import { getOnlineFeatures } from '../../../lambdas/features/online/retrieval';
import { makeOnlineWorld, type OnlineWorld } from './support';

// Retrieval resolves a request shape's selection once per repo and reuses it: every shape
// (features, service, naming) must still get its own columns, and a bad one its own error.
const definitions = {
  entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
  sources: [
    {
      name: 'stats',
      kind: 'push',
      columns: [
        { name: 'user_id', type: 'int64' },
        { name: 'ts', type: 'timestamp' },
        { name: 'a', type: 'float64' },
        { name: 'b', type: 'float64' },
      ],
    },
  ],
  featureViews: [
    {
      name: 'stats',
      entities: ['user'],
      source: 'stats',
      timestampField: 'ts',
      features: [
        { name: 'a', type: 'float64' },
        { name: 'b', type: 'float64' },
      ],
    },
  ],
  featureServices: [{ name: 'only_b', features: ['stats:b'] }],
};

let w: OnlineWorld;
beforeAll(async () => {
  w = await makeOnlineWorld(definitions);
  await w.table.putItems(
    [1, 2].map((u) => ({
      pk: itemKey('stats', String(u)),
      ets: Date.now() * 1000,
      cts: Number.MIN_SAFE_INTEGER,
      asof: 0,
      attrs: { [featureAttr('a')]: u, [featureAttr('b')]: u * 10 },
    })),
  );
});
afterAll(() => w.close());

describe('online retrieval over one repo, request after request', () => {
  it('answers each request shape with its own columns and names', async () => {
    const entities = { user_id: [1, 2] };
    const get = (req: object) => getOnlineFeatures({ repo: w.repo, table: w.table }, { entities, ...req });
    for (let round = 0; round < 2; round++) {
      const a = await get({ features: ['stats:a'] });
      expect(a.metadata.feature_names).toEqual(['user_id', 'a']);
      expect(a.results[1]?.values).toEqual([1, 2]);
      const ab = await get({ features: ['stats:a', 'stats:b'], full_feature_names: true });
      expect(ab.metadata.feature_names).toEqual(['user_id', 'stats__a', 'stats__b']);
      expect(ab.results[2]?.values).toEqual([10, 20]);
      const svc = await get({ feature_service: 'only_b' });
      expect(svc.metadata.feature_names).toEqual(['user_id', 'b']);
      expect(svc.results[1]?.values).toEqual([10, 20]);
      await expect(get({ features: ['stats:nope'] })).rejects.toThrow(/nope/);
    }
    // Another repo with the same names is resolved from its own definitions.
    const other = buildRepo({
      file: { ...definitions, featureServices: [{ name: 'only_b', features: ['stats:a'] }] },
    });
    const res = await getOnlineFeatures(
      { repo: other, table: w.table },
      { entities, feature_service: 'only_b' },
    );
    expect(res.metadata.feature_names).toEqual(['user_id', 'a']);
    expect(res.results[1]?.values).toEqual([1, 2]);
  });
});
