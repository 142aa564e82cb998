import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { renderWindowQueries } from '../../lambdas/monitoring/aggregate/window-plan';
import type { NumericScores } from '../../lambdas/monitoring/drift/compare';
import {
  type DriftJobDeps,
  runDriftJob,
  sizeWindow,
  type VersionResult,
} from '../../lambdas/monitoring/job/drift-job';
import { duckdbPredictionLog } from '../../lambdas/monitoring/log/log-table';
import { shipLogEvents } from '../../lambdas/monitoring/log/shipper';
import {
  type BaselineProfile,
  buildBaselineProfile,
} from '../../lambdas/monitoring/profile/baseline-profile';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { PredictionLog } from '../../lambdas/serving/domain/prediction-log';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { createRng } from '../../lambdas/training/random';

const BUCKET = 'monitoring';
const NOW = Date.parse('2026-06-10T12:00:00Z');
const HOUR = 3_600_000;
let root: string;
let store: FsObjectStore;
let engine: DuckDbEngine;
let profile: BaselineProfile;

/**
 * Rows with what a wrong aggregation would get wrong: `spend` continuous (the sketch is
 * approximate inside a bin), `seats` small integers (ties exactly on grid edges), `age` with
 * current values far beyond the baseline's range (the outer bins' sums), 10% missing values,
 * and `plan` with a category the baseline never had.
 */
function sample(n: number, seed: number, shift: number) {
  const rng = createRng(seed);
  const spend = new Float64Array(n);
  const seats = new Float64Array(n);
  const age = new Float64Array(n);
  const plan: (string | null)[] = [];
  const score = new Float64Array(n);
  const plans = shift ? ['basic', 'pro', 'team', 'enterprise'] : ['basic', 'pro', 'team'];
  for (let i = 0; i < n; i++) {
    spend[i] = rng.next() < 0.1 ? Number.NaN : rng.normal() * 10 + 50 + shift * 10;
    seats[i] = 1 + rng.int(shift ? 12 : 8);
    age[i] = rng.normal() * 8 * (1 + shift) + 40;
    plan.push(rng.next() < 0.05 ? null : (plans[rng.int(plans.length)] as string));
    score[i] = 1 / (1 + Math.exp(-0.1 * (spend[i]! - 50 || 0)));
  }
  return { spend, seats, age, plan, score };
}

async function logTraffic(version: string, rows: ReturnType<typeof sample>, start: number) {
  const lines: string[] = [];
  let t = start;
  const log = new PredictionLog(
    (l) => lines.push(l),
    () => t,
  );
  const opt = (a: Float64Array, from: number, to: number) =>
    Array.from(a.subarray(from, to), (v) => (Number.isNaN(v) ? null : v));
  for (let from = 0; from < rows.spend.length; from += 100) {
    const to = Math.min(rows.spend.length, from + 100);
    // Spread over the window's hours (and a few rows before it, which must not count).
    t = start + Math.floor((from / rows.spend.length) * 30) * HOUR;
    log.success({
      requestId: `${version}-${from}`,
      model: 'churn',
      version,
      variant: '1',
      api: 'v1',
      latencyMs: 1,
      inputs: {
        spend: opt(rows.spend, from, to),
        seats: opt(rows.seats, from, to),
        age: opt(rows.age, from, to),
        plan: rows.plan.slice(from, to),
      },
      predictions: rows.score.subarray(from, to),
    });
  }
  // A failed request, stored as the shipper stores any line it is handed.
  log.failure({
    requestId: `${version}-failed`,
    model: 'churn',
    version,
    variant: '1',
    api: 'v1',
    latencyMs: 1,
    status: 500,
    errorCode: 'INTERNAL_ERROR',
  });
  await shipLogEvents(
    { store, bucket: BUCKET, sinks: [] },
    lines.map((message, k) => ({ id: `v${version}b${String(k).padStart(6, '0')}`, message })),
  );
}

function deps(sql: boolean): DriftJobDeps {
  return {
    store,
    bucket: BUCKET,
    profiles: { get: async () => profile },
    publisher: { publish: async () => undefined },
    emit: () => undefined,
    now: () => NOW,
    ...(sql
      ? {
          sql: {
            engine,
            source: { dialect: 'duckdb' as const, table: duckdbPredictionLog(join(root, BUCKET)) },
          },
        }
      : {}),
  };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mlops-winagg-'));
  store = new FsObjectStore(root);
  engine = await DuckDbEngine.create({ threads: 1 });
  const base = sample(20_000, 1, 0);
  profile = buildBaselineProfile(
    datasetOf({ spend: base.spend, seats: base.seats, age: base.age, plan: base.plan }),
    [
      { name: 'spend', type: 'numeric' },
      { name: 'seats', type: 'numeric' },
      { name: 'age', type: 'numeric' },
      { name: 'plan', type: 'categorical' },
    ],
    base.score,
    'binary',
  );
  // Version 1 like the baseline, version 2 shifted; both start 6 hours before the window.
  await logTraffic('1', sample(12_000, 2, 0), NOW - 30 * HOUR);
  await logTraffic('2', sample(12_000, 3, 1), NOW - 30 * HOUR);
}, 120_000);
afterAll(() => {
  engine?.close();
  rmSync(root, { recursive: true, force: true });
});

const byVersion = (results: VersionResult[]) => new Map(results.map((r) => [r.version, r]));

describe('the drift job aggregated in SQL (DuckDB locally, Athena on AWS)', () => {
  it('counts the window per version before choosing a path', async () => {
    const [size] = await sizeWindow(deps(true), { models: ['churn'], windowHours: 24, driftPsi: 0.2 });
    // 30 hours of traffic, 24 in the window: hours 6..29 of 30, by request (100 rows each).
    const streamed = await runDriftJob(deps(false), { models: ['churn'], windowHours: 24, driftPsi: 0.2 });
    const rows = Object.fromEntries(streamed.map((r) => [r.version, r.rows]));
    const failures = streamed.reduce((s, r) => s + r.failures, 0);
    expect(failures).toBe(2);
    expect(size).toEqual({ model: 'churn', rows: rows['1']! + rows['2']!, failures, versions: rows });
    expect(rows['1']).toBeGreaterThan(8_000);
    expect(rows['1']).toBeLessThan(12_000);
  });

  it("gives the streaming path's verdicts, PSI and counts, and KS and Wasserstein within their bin bounds", async () => {
    const options = { models: ['churn'], windowHours: 24, driftPsi: 0.2 };
    const streamed = byVersion(await runDriftJob(deps(false), options));
    const aggregated = byVersion(await runDriftJob(deps(true), { ...options, source: 'sql' }));
    expect([...aggregated.keys()].sort()).toEqual(['1', '2']);
    for (const version of ['1', '2']) {
      const a = streamed.get(version)!;
      const b = aggregated.get(version)!;
      expect(b.rows).toBe(a.rows);
      expect(b.failures).toBe(a.failures);
      expect(b.drifted).toBe(a.drifted);
      expect(b.report!.summary).toEqual(a.report!.summary);
      expect(b.timeline.map((h) => h.count)).toEqual(a.timeline.map((h) => h.count));
      for (const [i, h] of b.timeline.entries()) {
        if (h.mean !== null) expect(h.mean).toBeCloseTo(a.timeline[i]!.mean!, 9);
      }
      const all = [...a.report!.features, a.report!.prediction!];
      const sqlAll = [...b.report!.features, b.report!.prediction!];
      for (const [i, fa] of all.entries()) {
        const fb = sqlAll[i]!;
        expect(fb.name).toBe(fa.name);
        expect(fb.verdict).toBe(fa.verdict);
        expect(fb.current.count).toBe(fa.current.count);
        expect(fb.current.missingRate).toBeCloseTo(fa.current.missingRate, 12);
        if (fa.current.mean !== undefined) {
          expect(fb.current.mean).toBeCloseTo(fa.current.mean, 9);
          expect(fb.current.std).toBeCloseTo(fa.current.std!, 9);
        }
        const sa = fa.scores!;
        const sb = fb.scores!;
        expect(sb.psi).toBeCloseTo(sa.psi, 9);
        if ('ks' in sa) {
          const ka = sa.ks;
          const kb = (sb as NumericScores).ks;
          // Both are on the profile's grid: each D is within its bound of the true D, so of each other.
          expect(Math.abs(kb.statistic - ka.statistic)).toBeLessThanOrEqual(ka.error + kb.error + 1e-12);
          expect(kb.error).toBeLessThanOrEqual(1 / 512);
          const wb = sb as NumericScores;
          expect(Math.abs(wb.wassersteinNormalized - sa.wassersteinNormalized)).toBeLessThanOrEqual(
            sa.wassersteinNormalizedError + wb.wassersteinNormalizedError + 1e-12,
          );
        } else if ('chiSquare' in sb && 'chiSquare' in sa) {
          expect(sb.chiSquare.statistic).toBeCloseTo(sa.chiSquare.statistic, 9);
          expect(sb.unseen).toEqual(sa.unseen);
        }
      }
    }
    // The shifted version drifts on every path; the other does not.
    expect(aggregated.get('2')!.drifted).toBe(true);
    expect(aggregated.get('1')!.drifted).toBe(false);
    expect(aggregated.get('2')!.report!.features.find((f) => f.name === 'plan')!.scores).toMatchObject({
      unseen: { categories: ['enterprise'] },
    });
  }, 120_000);

  it('splits the Athena rendering into queries under its 262,144-byte limit, and keeps DuckDB to one', () => {
    const edges = Float64Array.from({ length: 1_035 }, (_, k) => Math.PI * k + 1 / 3);
    const grid = { edges, psiEdges: edges.filter((_, k) => k % 100 === 50) };
    const plan = {
      model: "o'brien",
      version: '7',
      from: NOW - 24 * HOUR,
      to: NOW,
      numeric: Array.from({ length: 20 }, (_, k) => ({ name: `f${k}`, grid })),
      categorical: ['plan'],
      predictionGrid: grid,
      maxCategories: 10_000,
    };
    const athena = renderWindowQueries(plan, { dialect: 'athena', table: '"monitoring_prod"."predictions"' });
    expect(athena.length).toBeGreaterThan(1);
    for (const q of athena) expect(Buffer.byteLength(q.sql)).toBeLessThan(262_144);
    // Every column once, the window's counts in the first query only.
    expect(athena.flatMap((q) => q.columns.map((c) => c.id)).sort()).toEqual(
      ['p', 'c0', ...Array.from({ length: 20 }, (_, k) => `n${k}`)].sort(),
    );
    expect(athena.map((q) => q.window)).toEqual(athena.map((_, i) => i === 0));
    expect(athena[0]!.sql).toContain("model = 'o''brien'");
    expect(athena[0]!.sql).toContain('width_bucket(');
    const duck = renderWindowQueries(plan, { dialect: 'duckdb', table: 'predictions' });
    expect(duck).toHaveLength(1);
  });
});
