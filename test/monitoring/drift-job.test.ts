import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerMonitoringCommands } from '../../lambdas/monitoring/cli';
import { NumericAccumulator } from '../../lambdas/monitoring/drift/accumulators';
import { compareFeature } from '../../lambdas/monitoring/drift/compare';
import { DriftConfigSchema } from '../../lambdas/monitoring/drift/config';
import { type DriftJobDeps, runDriftJob } from '../../lambdas/monitoring/job/drift-job';
import { latestReportKey } from '../../lambdas/monitoring/job/report-keys';
import { shipLogEvents } from '../../lambdas/monitoring/log/shipper';
import {
  type BaselineProfile,
  buildBaselineProfile,
} from '../../lambdas/monitoring/profile/baseline-profile';
import { profileSummaries } from '../../lambdas/monitoring/profile/profile-summary';
import { MlopsError } from '../../lambdas/platform/errors';
import type { PublishedEvent } from '../../lambdas/platform/events';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { PredictionLog } from '../../lambdas/serving/domain/prediction-log';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { createRng } from '../../lambdas/training/random';

const BUCKET = 'monitoring';
const NOW = Date.parse('2026-06-10T12:00:00Z');
const PLANS = ['basic', 'pro', 'team'];
let dataDir: string;
let root: string;
let store: FsObjectStore;
let profile: BaselineProfile;
let baselineSpend: Float64Array;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Rows like the model's training data: spend ~ N(50, 10) with 10% missing, plan uniform; `shift` moves spend. */
function sample(n: number, seed: number, shift = 0) {
  const rng = createRng(seed);
  const spend = new Float64Array(n);
  const plan: (string | null)[] = [];
  const score = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = rng.normal() * 10 + 50 + shift;
    spend[i] = rng.next() < 0.1 ? Number.NaN : s;
    plan.push(PLANS[rng.int(3)] as string);
    score[i] = sigmoid(0.2 * (s - 50));
  }
  return { spend, plan, score };
}

/** Logs rows through serving's own log writer and ships the lines, 100 rows per request. */
async function logTraffic(model: string, version: string, rows: ReturnType<typeof sample>, at: number) {
  const lines: string[] = [];
  const log = new PredictionLog(
    (l) => lines.push(l),
    () => at,
  );
  for (let from = 0; from < rows.spend.length; from += 100) {
    const to = Math.min(rows.spend.length, from + 100);
    log.success({
      requestId: `${model}-${version}-${from}`,
      model,
      version,
      variant: '1',
      api: 'v1',
      latencyMs: 1,
      inputs: {
        spend: Array.from(rows.spend.subarray(from, to), (v) => (Number.isNaN(v) ? null : v)),
        plan: rows.plan.slice(from, to),
      },
      predictions: rows.score.subarray(from, to),
    });
  }
  await shipLogEvents(
    { store, bucket: BUCKET, sinks: [] },
    lines.map((message, k) => ({ id: `${model}${version}${at}${String(k).padStart(6, '0')}`, message })),
  );
}

function deps(profiles: Record<string, BaselineProfile | undefined> = {}) {
  const events: PublishedEvent[] = [];
  const metrics: Record<string, unknown>[] = [];
  const d: DriftJobDeps = {
    store,
    bucket: BUCKET,
    profiles: { get: async (model) => (model in profiles ? profiles[model] : profile) },
    publisher: {
      publish: async (detailType, detail) =>
        void events.push({ source: 'mlops.monitoring', detailType, detail: { ...detail }, time: '' }),
    },
    emit: (line) => void metrics.push(JSON.parse(line)),
    now: () => NOW,
  };
  return { d, events, metrics };
}

beforeAll(() => {
  // A local data dir's layout: the monitoring bucket is <dataDir>/s3/monitoring.
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-driftjob-'));
  root = join(dataDir, 's3');
  store = new FsObjectStore(root);
  const base = sample(5000, 1);
  baselineSpend = base.spend;
  profile = buildBaselineProfile(
    datasetOf({ spend: base.spend, plan: base.plan }),
    [
      { name: 'spend', type: 'numeric' },
      { name: 'plan', type: 'categorical' },
    ],
    base.score,
    'binary',
  );
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  try {
    // The monitoring commands alone, with bin/cli.ts's rule: a user's mistake is its message and exit 1.
    const program = new Command('mlops').exitOverride();
    registerMonitoringCommands(program);
    try {
      await program.parseAsync(['node', 'mlops', 'monitor', ...args]);
      return { code: 0, stdout, stderr };
    } catch (e) {
      if (!(e instanceof MlopsError)) throw e;
      process.stderr.write(`error: ${e.message}\n`);
      return { code: 1, stdout, stderr };
    }
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('the drift job over the stored prediction log', () => {
  it('the profile sketch gives the PSI of the baseline rows exactly and KS within its reported bound', () => {
    const config = DriftConfigSchema.parse({});
    const exact = new NumericAccumulator(config);
    exact.addMany(baselineSpend);
    const current = new NumericAccumulator(config);
    current.addMany(sample(3000, 9, 4).spend);
    const cur = current.finish();
    const fromRows = compareFeature('spend', exact.finish(), cur, config);
    const fromProfile = compareFeature(
      'spend',
      profileSummaries(profile).features.get('spend')!,
      cur,
      config,
    );
    const a = fromRows.scores as { psi: number; ks: { statistic: number; error: number } };
    const b = fromProfile.scores as { psi: number; ks: { statistic: number; error: number } };
    expect(b.psi).toBeCloseTo(a.psi, 12);
    expect(b.ks.error).toBeLessThan(0.003);
    expect(Math.abs(b.ks.statistic - a.ks.statistic)).toBeLessThanOrEqual(b.ks.error + 1e-12);
    expect(fromProfile.verdict).toBe(fromRows.verdict);
  });

  it('a feature shifted by one standard deviation drifts the version: metrics, report, and one DriftDetected', async () => {
    await logTraffic('shifted', '3', sample(2000, 2, 10), NOW - 3_600_000);
    const { d, events, metrics } = deps();
    const [r] = await runDriftJob(d, { models: ['shifted'], windowHours: 24, driftPsi: 0.2 });
    expect(r).toMatchObject({ model: 'shifted', version: '3', rows: 2000, drifted: true, published: true });
    const spend = r!.report!.features.find((f) => f.name === 'spend')!;
    const plan = r!.report!.features.find((f) => f.name === 'plan')!;
    expect(spend).toMatchObject({ verdict: 'drift', test: { method: 'wasserstein' } });
    expect(plan.verdict).toBe('no_drift');
    expect(r!.report!.summary).toMatchObject({ judged: 2, drifted: 1, driftedShare: 0.5, verdict: 'drift' });
    expect(r!.maxPsi).toBeGreaterThan(0.2);
    expect(r!.reasons.join('; ')).toMatch(
      /drifted share 0\.5 >= 0\.5.*psi\(spend\)=[\d.]+ > 0\.2.*psi\(prediction\)/,
    );
    // The metrics the alarms watch, per model (and per version), in the monitoring namespace.
    const summary = metrics.find((m) => 'MaxPsi' in m)!;
    expect(summary).toMatchObject({ model: 'shifted', version: '3', WindowRows: 2000, DriftedShare: 0.5 });
    expect(
      (summary._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
        .CloudWatchMetrics[0],
    ).toMatchObject({
      Namespace: 'ServerlessMlops/Monitoring',
      Dimensions: [['model'], ['model', 'version']],
    });
    expect(metrics.filter((m) => m.feature).map((m) => m.feature)).toEqual(['spend', 'plan']);
    expect(events).toEqual([
      expect.objectContaining({
        detailType: 'DriftDetected',
        detail: expect.objectContaining({
          model: 'shifted',
          version: '3',
          reason: expect.stringMatching(/^shifted v3: /),
        }),
      }),
    ]);
    // The report, JSON and HTML, and the pointer `mlops monitor report` opens.
    const html = Buffer.from((await store.get(BUCKET, r!.reportKeys!.html))!).toString('utf8');
    expect(html).toContain('Drift of shifted version 3');
    expect(html).toContain('Prediction mean per hour');
    const latest = JSON.parse(
      Buffer.from((await store.get(BUCKET, latestReportKey('shifted')))!).toString('utf8'),
    );
    expect(latest).toMatchObject({ version: '3', drifted: true, html: r!.reportKeys!.html });

    // The next run sees the same drift: it reports it again but does not retrain again.
    const again = deps();
    const [r2] = await runDriftJob(
      { ...again.d, now: () => NOW + 1000 },
      { models: ['shifted'], windowHours: 24, driftPsi: 0.2 },
    );
    expect(r2).toMatchObject({ drifted: true, published: false });
    expect(again.events).toEqual([]);
  });

  it('unshifted traffic of the same size does not drift and publishes nothing', async () => {
    await logTraffic('steady', '3', sample(2000, 3), NOW - 3_600_000);
    const { d, events, metrics } = deps();
    const [r] = await runDriftJob(d, { models: ['steady'], windowHours: 24, driftPsi: 0.2 });
    expect(r).toMatchObject({ rows: 2000, drifted: false, published: false, reasons: [] });
    expect(r!.report!.summary).toMatchObject({ judged: 2, drifted: 0, verdict: 'no_drift' });
    expect(r!.maxPsi).toBeLessThan(0.05);
    expect(metrics.find((m) => 'MaxPsi' in m)).toMatchObject({ DriftedShare: 0 });
    expect(events).toEqual([]);
  });

  it('a window below the minimum sample size gives no verdict, no drift metric and no event, even shifted', async () => {
    await logTraffic('small', '1', sample(60, 4, 30), NOW - 600_000);
    const { d, events, metrics } = deps();
    const [r] = await runDriftJob(d, { models: ['small'], windowHours: 24, driftPsi: 0.2 });
    expect(r).toMatchObject({
      rows: 60,
      drifted: false,
      published: false,
      maxPsi: null,
      predictionPsi: null,
    });
    expect(r!.report!.summary.verdict).toBe('insufficient_data');
    expect(r!.report!.features.every((f) => f.verdict === 'insufficient_data')).toBe(true);
    expect(metrics).toEqual([expect.objectContaining({ WindowRows: 60 })]);
    expect(Object.keys(metrics[0]!)).not.toContain('MaxPsi');
    expect(events).toEqual([]);
  });

  it('only the window counts: older traffic is left out', async () => {
    await logTraffic('windowed', '2', sample(500, 5, 30), NOW - 30 * 3_600_000);
    await logTraffic('windowed', '2', sample(500, 6), NOW - 3_600_000);
    const { d } = deps();
    const [r] = await runDriftJob(d, { models: ['windowed'], windowHours: 24, driftPsi: 0.2 });
    expect(r).toMatchObject({ rows: 500, drifted: false });
    const [wide] = await runDriftJob(deps().d, { models: ['windowed'], windowHours: 48, driftPsi: 0.2 });
    expect(wide).toMatchObject({ rows: 1000, drifted: true });
  });

  it('says why a version cannot be compared: no profile, or a profile from before the sketch', async () => {
    await logTraffic('unprofiled', '5', sample(200, 7), NOW - 600_000);
    const none = await runDriftJob(deps({ unprofiled: undefined }).d, {
      models: ['unprofiled'],
      windowHours: 24,
      driftPsi: 0.2,
    });
    expect(none[0]).toMatchObject({ version: '5', rows: 200, report: null, drifted: false });
    expect(none[0]!.error).toMatch(/version 5 of 'unprofiled' has no baseline profile/);
    const { sketch: _drop, ...oldSpend } = profile.features.spend as { sketch?: unknown };
    const old = {
      ...profile,
      version: 1,
      features: { ...profile.features, spend: oldSpend },
    } as unknown as BaselineProfile;
    const stale = await runDriftJob(deps({ unprofiled: old }).d, {
      models: ['unprofiled'],
      windowHours: 24,
      driftPsi: 0.2,
    });
    expect(stale[0]!.error).toMatch(/no drift sketch for 'spend'.*retrain/);
    const empty = await runDriftJob(deps().d, { models: ['nothing-logged'], windowHours: 24, driftPsi: 0.2 });
    expect(empty[0]).toMatchObject({ version: null, rows: 0, drifted: false });
    expect(empty[0]!.error).toMatch(/no predictions of 'nothing-logged' logged between/);
    await expect(runDriftJob(deps().d, { models: ['x'], windowHours: 0, driftPsi: 0.2 })).rejects.toThrow(
      /windowHours/,
    );
    await expect(
      runDriftJob(deps().d, { models: ['x'], windowHours: 1, driftPsi: 0.2, drift: { minSamples: 0 } }),
    ).rejects.toThrow(/minSamples/);
  });

  it('`mlops monitor report` writes the latest stored report of a model, and says when there is none', async () => {
    const out = join(dataDir, 'out', 'shifted.html');
    const r = await cli(['report', '--model', 'shifted', '--data-dir', dataDir, '--out', out]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/wrote .*shifted\.html \(shifted version 3, .*: drift\)/);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('Drift of shifted version 3');
    // Without --model: the latest run of any model.
    const any = await cli(['report', '--data-dir', dataDir, '--out', join(dataDir, 'out', 'any.html')]);
    expect(any.code).toBe(0);
    const none = await cli(['report', '--model', 'never-run', '--data-dir', dataDir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/No drift report of 'never-run'.*mlops monitor run --model never-run/);
  });
});
