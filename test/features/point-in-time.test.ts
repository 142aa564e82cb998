import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTrainingSet } from '../../lambdas/features/offline/training-set';
import { BUCKET, fixture, ingestAll, makeWorld, readRows, type World } from './support';

let w: World;
beforeAll(async () => {
  w = await makeWorld('pit-definitions.yaml');
  // The lower-created row of the tie at 12:00 arrives in a later batch: order of arrival must not matter.
  await ingestAll(w, [
    ['purchases', 'purchases-a.csv'],
    ['purchases', 'purchases-b.csv'],
    ['profiles', 'profiles.csv'],
    ['risk_scores', 'risk.csv'],
  ]);
});
afterAll(() => w.close());

const deps = () => ({ repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET });
const T = '2024-03-10T12:00:00.000Z';

// One line per entity row, in input order; every value is worked out by hand in the comments.
const expected = [
  // user 1 at T: the two rows at exactly T tie; created 12:01 (7, e) beats created 12:00 (5, d).
  // 7d window (T-7d, T]: 10 + 1 + 5 + 7 (T-7d itself excluded). 1h window (T-1h, T]: 5, 7.
  {
    user_id: 1,
    event_timestamp: T,
    label: 0,
    amount: 7,
    category: 'e',
    purchase_count_7d: 4,
    amount_sum_7d: 23,
    amount_last_7d: 7,
    amount_max_1h: 7,
    tier: 'gold',
    score: 0.5,
  },
  // user 2 exactly one TTL (1d) after its purchase: still valid. Risk 30 min old (ttl 1h).
  {
    user_id: 2,
    event_timestamp: '2024-03-09T12:00:00.000Z',
    label: 1,
    amount: 3,
    category: 'x',
    purchase_count_7d: 1,
    amount_sum_7d: 3,
    amount_last_7d: 3,
    amount_max_1h: null,
    tier: 'silver',
    score: 0.9,
  },
  // one second later the purchase is past its TTL: null, while the 7d aggregation still counts it.
  {
    user_id: 2,
    event_timestamp: '2024-03-09T12:00:01.000Z',
    label: 0,
    amount: null,
    category: null,
    purchase_count_7d: 1,
    amount_sum_7d: 3,
    amount_last_7d: 3,
    amount_max_1h: null,
    tier: 'silver',
    score: 0.9,
  },
  // unknown entity: every feature null, count 0.
  {
    user_id: 999,
    event_timestamp: T,
    label: 1,
    amount: null,
    category: null,
    purchase_count_7d: 0,
    amount_sum_7d: null,
    amount_last_7d: null,
    amount_max_1h: null,
    tier: null,
    score: null,
  },
  // 13:59:59+02:00 is T-1s: the rows at T and T+1s are in its future; T-7d now falls inside (T-1s-7d, T-1s].
  {
    user_id: 1,
    event_timestamp: '2024-03-10T11:59:59.000Z',
    label: 0,
    amount: 1,
    category: 'c',
    purchase_count_7d: 3,
    amount_sum_7d: 111,
    amount_last_7d: 1,
    amount_max_1h: 1,
    tier: 'gold',
    score: 0.5,
  },
  // a duplicate entity row gets its own identical output row.
  {
    user_id: 1,
    event_timestamp: T,
    label: 0,
    amount: 7,
    category: 'e',
    purchase_count_7d: 4,
    amount_sum_7d: 23,
    amount_last_7d: 7,
    amount_max_1h: 7,
    tier: 'gold',
    score: 0.5,
  },
  // event exactly at a feature row's timestamp sees that row; profile 'gold' (T-1h) is in the future.
  {
    user_id: 1,
    event_timestamp: '2024-03-03T12:00:00.000Z',
    label: 1,
    amount: 100,
    category: 'a',
    purchase_count_7d: 2,
    amount_sum_7d: 1100,
    amount_last_7d: 100,
    amount_max_1h: 100,
    tier: 'bronze',
    score: null,
  },
  // T+1s: the 50000 row is now the latest; T-7d+1s leaves the window.
  {
    user_id: 1,
    event_timestamp: '2024-03-10T12:00:01.000Z',
    label: 1,
    amount: 50000,
    category: 'z',
    purchase_count_7d: 4,
    amount_sum_7d: 50013,
    amount_last_7d: 50000,
    amount_max_1h: 50000,
    tier: 'gold',
    score: 0.5,
  },
];

describe('point-in-time training sets', () => {
  it('gives each entity row the latest value at or before its timestamp within the TTL, in input order', async () => {
    const out = join(w.dir, 'out', 'duckdb.parquet');
    const r = await buildTrainingSet(deps(), {
      entityRows: fixture('entity-rows.csv'),
      featureService: 'fraud_v1',
      output: out,
    });
    expect(r.rows).toBe(8);
    expect(await readRows(w.engine, out)).toEqual(expected);
  });

  it('renders Athena-dialect SQL that gives the same rows and the same digest as the DuckDB dialect', async () => {
    const a = await buildTrainingSet(deps(), {
      entityRows: fixture('entity-rows.csv'),
      featureService: 'fraud_v1',
      output: join(w.dir, 'out', 'athena.parquet'),
      dialect: 'athena',
    });
    const d = await buildTrainingSet(deps(), {
      entityRows: fixture('entity-rows.csv'),
      featureService: 'fraud_v1',
      output: join(w.dir, 'out', 'duck.csv'),
    });
    expect(a.sql).toContain('ROW_NUMBER() OVER (PARTITION BY e."__row_id"');
    expect(a.sql).not.toContain('ASOF');
    expect(d.sql).toContain('ASOF LEFT JOIN');
    expect(await readRows(w.engine, a.output)).toEqual(expected);
    expect(a.digest).toBe(d.digest);
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('gives a digest that is stable across runs and changes when the requested features change', async () => {
    const run = (features: string[], name: string) =>
      buildTrainingSet(deps(), {
        entityRows: fixture('entity-rows.csv'),
        features,
        output: join(w.dir, 'out', name),
      });
    const one = await run(['purchases:amount', 'risk:score'], 'd1.parquet');
    const two = await run(['purchases:amount', 'risk:score'], 'd2.parquet');
    const other = await run(['purchases:amount', 'profiles:tier'], 'd3.parquet');
    expect(two.digest).toBe(one.digest);
    expect(other.digest).not.toBe(one.digest);
  });

  it('names outputs view__feature with full feature names and keeps only the requested ones', async () => {
    const out = join(w.dir, 'out', 'full.parquet');
    const r = await buildTrainingSet(deps(), {
      entityRows: fixture('entity-rows.csv'),
      features: ['risk:score', 'purchases:purchase_count_7d'],
      fullFeatureNames: true,
      output: out,
    });
    expect(r.columns).toEqual([
      'user_id',
      'event_timestamp',
      'label',
      'risk__score',
      'purchases__purchase_count_7d',
    ]);
    const rows = await readRows(w.engine, out);
    expect(rows.map((x) => x['purchases__purchase_count_7d'])).toEqual(
      expected.map((e) => e.purchase_count_7d),
    );
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });
});
