import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch, ingestRows } from '../../lambdas/features/ingestion/ingest';
import { committedBatches } from '../../lambdas/features/offline/offline-store';
import { BUCKET, fixture, makeWorld, type World } from './support';

let w: World;
beforeAll(async () => {
  w = await makeWorld('pit-definitions.yaml');
});
afterAll(() => w.close());
const deps = () => ({
  repo: w.repo,
  engine: w.engine,
  store: w.store,
  bucket: BUCKET,
  now: () => new Date('2024-04-01T00:00:00Z'),
});

describe('validated ingestion', () => {
  it('quarantines a failing batch with a readable report and writes nothing of it to the offline store', async () => {
    const r = await ingestBatch(deps(), { source: 'purchases', file: fixture('purchases-bad.csv') });
    expect(r.status).toBe('quarantined');
    if (r.status !== 'quarantined') return;
    const failed = r.report.checks.filter((c) => !c.passed).map((c) => `${c.check}:${c.column}`);
    // Type errors stop value checks: the naive timestamp and 'abc' are reported first.
    expect(failed).toEqual(['type:ts', 'type:amount']);
    expect(r.report.checks.find((c) => c.column === 'ts')?.message).toMatch(
      /1 row\(s\) are not zoned timestamps .*'2024-03-10T12:00:00'/,
    );
    const md = new TextDecoder().decode(await w.store.get(BUCKET, r.reportKey));
    expect(md).toContain('REJECTED');
    expect(md).toContain("type `amount`: 1 row(s) are not float64 (e.g. 'abc')");
    expect(await w.store.get(BUCKET, `quarantine/purchases/${r.batchId}/report.json`)).toBeDefined();
    expect(await w.store.list(BUCKET, 'offline/')).toEqual([]);
  });

  it('reports null, range and allowed-value violations once types are right', async () => {
    const nulls = await ingestRows(deps(), 'purchases', [
      { user_id: 1, ts: '2024-03-10T12:00:00Z', created: null, amount: -5, category: 'a' },
      { user_id: null, ts: '2024-03-10T12:00:00Z', created: null, amount: 3, category: 'a' },
    ]);
    expect(nulls.status).toBe('quarantined');
    if (nulls.status === 'quarantined') {
      expect(
        nulls.report.checks.filter((c) => !c.passed).map((c) => `${c.check}:${c.column}:${c.failingRows}`),
      ).toEqual(['nulls:user_id:1', 'range:amount:1']);
    }
    const tier = await ingestBatch(deps(), { source: 'profiles', file: fixture('profiles-bad-tier.csv') });
    expect(tier.status === 'quarantined' && tier.report.checks.find((c) => !c.passed)?.message).toMatch(
      /1 row\(s\) are not one of bronze, silver, gold \(e.g. 'platinum'\)/,
    );
    expect(await w.store.list(BUCKET, 'offline/')).toEqual([]);
  });

  it('checks distribution expectations', async () => {
    const repo = w.repo;
    const src = repo.sources.get('risk_scores')!;
    const strict = {
      ...w,
      repo: {
        ...repo,
        sources: new Map([
          ['risk_scores', { ...src, expectations: [{ column: 'score', metric: 'mean' as const, max: 0.6 }] }],
        ]),
      },
    };
    const views = new Map(
      [...repo.views].map(([k, v]) => [
        k,
        v.source.name === 'risk_scores' ? { ...v, source: strict.repo.sources.get('risk_scores')! } : v,
      ]),
    );
    const r = await ingestBatch(
      { ...deps(), repo: { ...strict.repo, views } },
      { source: 'risk_scores', file: fixture('risk.csv') },
    );
    expect(r.status === 'quarantined' && r.report.checks.at(-1)?.message).toBe(
      'mean of score is 0.700000; expected within [-inf, 0.6]',
    );
  });

  it('commits a passing batch whole, partitioned by event date, and a rerun of it is a no-op', async () => {
    const first = await ingestBatch(deps(), { source: 'purchases', file: fixture('purchases-a.csv') });
    expect(first).toMatchObject({ status: 'ingested', rows: 7, views: ['purchases'] });
    const keys = (await w.store.list(BUCKET, 'offline/purchases/')).map((o) => o.key);
    expect(keys.filter((k) => k.endsWith('.parquet')).map((k) => k.split('/')[2])).toEqual([
      'date=2024-03-02',
      'date=2024-03-03',
      'date=2024-03-08',
      'date=2024-03-10',
    ]);
    const again = await ingestBatch(deps(), { source: 'purchases', file: fixture('purchases-a.csv') });
    expect(again.status).toBe('already-ingested');
    const manifests = await committedBatches(w.store, BUCKET, 'purchases');
    expect(manifests).toHaveLength(1);
    expect(manifests[0]?.files).toHaveLength(4);
  });
});
