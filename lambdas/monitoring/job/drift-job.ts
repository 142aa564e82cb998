import type { SqlEngine } from '../../features/offline/sql-engine';
import { InvalidParameterError } from '../../platform/errors';
import type { EventPublisher } from '../../platform/events';
import type { ObjectStore } from '../../platform/object-store';
import { aggregateWindow, type WindowSummary } from '../aggregate/window-aggregate';
import { type LogSource, renderWindowCount } from '../aggregate/window-plan';
import {
  CategoricalAccumulator,
  NumericAccumulator,
  type NumericGrid,
  type NumericSummary,
} from '../drift/accumulators';
import { compareFeature, type DriftReport, type FeatureDrift, gridOf, summarize } from '../drift/compare';
import { type DriftConfig, type DriftConfigInput, DriftConfigSchema } from '../drift/config';
import { readWindow } from '../log/log-store';
import type { BaselineProfile } from '../profile/baseline-profile';
import { type ProfileSummary, profileSummaries } from '../profile/profile-summary';
import { renderDriftHtml } from '../report/drift-html';
import { type HistogramData, histogramOf } from '../report/histogram';
import { DRIFT_EVENT } from './drift-event';
import { driftMetricLines } from './metrics';
import { latestReportKey, reportKeys } from './report-keys';

/** Where a model version's baseline profile comes from (the registry and its run's artifacts). */
export interface ProfileSource {
  /** The version's profile; undefined when the version or its profile does not exist. */
  get(model: string, version: string): Promise<BaselineProfile | undefined>;
}

export interface DriftJobDeps {
  readonly store: ObjectStore;
  /** The monitoring bucket: the prediction log is read from it and reports written to it. */
  readonly bucket: string;
  readonly profiles: ProfileSource;
  /** Publishes `DriftDetected` (source `mlops.monitoring`). */
  readonly publisher: EventPublisher;
  /** Where embedded-metric-format lines go (stdout on Lambda). */
  readonly emit: (line: string) => void;
  readonly now?: () => number;
  /**
   * The prediction log's table on a SQL engine (Athena on AWS, DuckDB locally), for windows
   * aggregated in SQL (`source: 'sql'`) and for {@link sizeWindow}.
   * @default - the window is streamed through the function only
   */
  readonly sql?: { readonly engine: SqlEngine; readonly source: LogSource };
}

export interface DriftJobOptions {
  readonly models: readonly string[];
  /** The window ending now, in hours. */
  readonly windowHours: number;
  /** minSamples, driftShare, per-feature methods and thresholds (lambdas/monitoring/drift/config.ts). */
  readonly drift?: DriftConfigInput;
  /** A judged feature (or the prediction) whose PSI is above this drifts the version: `alarms.driftPsi`. */
  readonly driftPsi: number;
  /**
   * Where the window's aggregates come from: streamed through the function (`stream`), or one
   * SQL query per version on the log's table (`sql`, for windows too large for one function).
   * @default 'stream'
   */
  readonly source?: 'stream' | 'sql';
  /** The window's end, epoch ms (the sizing step's, so both steps see the same window). @default now */
  readonly to?: number;
}

/** The prediction's mean per hour of the window, for the report's chart. */
export interface HourPoint {
  readonly hour: string;
  readonly count: number;
  readonly mean: number | null;
}

/** What one run found for one model version. */
export interface VersionResult {
  readonly model: string;
  readonly version: string | null;
  readonly window: { readonly from: string; readonly to: string; readonly hours: number };
  /** Successful rows in the window (failures excluded). */
  readonly rows: number;
  readonly failures: number;
  readonly report: DriftReport | null;
  /** Why there is no report (no profile, no rows). */
  readonly error?: string;
  readonly maxPsi: number | null;
  readonly predictionPsi: number | null;
  /** The version drifted on this run: the dataset verdict or a PSI above driftPsi. */
  readonly drifted: boolean;
  readonly reasons: readonly string[];
  /** DriftDetected was published (only on the first drifted run after one that was not). */
  readonly published: boolean;
  readonly reportKeys?: { readonly json: string; readonly html: string };
  readonly timeline: readonly HourPoint[];
  /**
   * Baseline against current distribution of each feature and of the prediction, as the HTML
   * report draws them (absent without a report, and in reports written before they were kept).
   */
  readonly histograms?: { readonly features: HistogramData[]; readonly prediction: HistogramData };
}

type Acc = NumericAccumulator | CategoricalAccumulator;

interface Baseline {
  readonly features: Map<string, ProfileSummary>;
  readonly prediction: NumericSummary;
}

/** A version's window, summarized by either source, with its baseline. */
interface VersionWindow {
  readonly version: string;
  readonly error?: string;
  readonly baseline?: Baseline;
  readonly profileRows: number;
  readonly window: Pick<WindowSummary, 'rows' | 'failures' | 'hours'> & Partial<WindowSummary>;
}

interface VersionState {
  readonly version: string;
  readonly error?: string;
  readonly baseline?: Baseline;
  readonly profileRows: number;
  readonly features: Map<string, Acc>;
  readonly prediction?: NumericAccumulator;
  readonly hours: Map<number, { n: number; sum: number }>;
  rows: number;
  failures: number;
}

const HOUR = 3_600_000;

function newState(
  version: string,
  b: { baseline?: Baseline; profileRows: number; error?: string },
  config: DriftConfig,
): VersionState {
  const base = { version, hours: new Map(), rows: 0, failures: 0, profileRows: b.profileRows };
  const baseline = b.baseline;
  if (!baseline) return { ...base, features: new Map(), error: b.error ?? 'no baseline profile' };
  // A sketched baseline (every profile since version 2) is compared on its grid whatever the
  // window holds, so the window is binned as it streams: keeping and sorting its values first
  // gave the same counts for about a fifth of the job's CPU and 8 bytes a value.
  const numeric = (s: NumericSummary) =>
    new NumericAccumulator(s.sorted ? config : { ...config, exactLimit: 0 }, () =>
      gridOf(s, config.gridBins),
    );
  const features = new Map<string, Acc>();
  for (const [name, s] of baseline.features) {
    features.set(name, s.kind === 'numeric' ? numeric(s) : new CategoricalAccumulator(config));
  }
  return { ...base, baseline, features, prediction: numeric(baseline.prediction) };
}

function add(acc: Acc, v: unknown): void {
  if (acc instanceof NumericAccumulator) acc.add(typeof v === 'number' ? v : Number.NaN);
  else acc.add(v === null || v === undefined ? null : String(v));
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** The reasons a finished comparison drifts the version, by the alarms' rules. */
function driftReasons(
  report: DriftReport,
  driftPsi: number,
): { maxPsi: number | null; predictionPsi: number | null; reasons: string[] } {
  let worst: FeatureDrift | undefined;
  for (const f of report.features) {
    if (f.test.drifted === null || !f.scores) continue;
    if (!worst || f.scores.psi > worst.scores!.psi) worst = f;
  }
  const maxPsi = worst ? worst.scores!.psi : null;
  const p = report.prediction;
  const predictionPsi = p && p.test.drifted !== null && p.scores ? p.scores.psi : null;
  const reasons: string[] = [];
  const s = report.summary;
  if (s.verdict === 'drift') {
    reasons.push(
      `drifted share ${round(s.driftedShare!)} >= ${s.driftShareThreshold} (${s.drifted} of ${s.judged} features)`,
    );
  }
  if (maxPsi !== null && maxPsi > driftPsi)
    reasons.push(`psi(${worst!.name})=${round(maxPsi)} > ${driftPsi}`);
  if (predictionPsi !== null && predictionPsi > driftPsi) {
    reasons.push(`psi(prediction)=${round(predictionPsi)} > ${driftPsi}`);
  }
  return { maxPsi, predictionPsi, reasons };
}

/**
 * The scheduled drift job: for each model, streams the prediction log's window (the last
 * `windowHours`) from the monitoring bucket once, per version into the same bounded-memory
 * summaries as `mlops monitor drift` (exact up to `exactLimit` values per feature, then the
 * baseline's grid), and compares each version with the baseline profile stored with it at
 * training. Per version it emits the drift metrics (EMF), writes the report (JSON and HTML)
 * under `reports/model=<m>/version=<v>/`, and publishes `DriftDetected` when the version
 * drifts now and did not on its previous run (so a lasting drift retrains once, not every
 * hour). A version or window below `minSamples` gets no verdict, no drift metric and no event.
 *
 * @example
 * const results = await runDriftJob(deps, { models: ['churn'], windowHours: 24, driftPsi: 0.2 });
 */
export async function runDriftJob(deps: DriftJobDeps, options: DriftJobOptions): Promise<VersionResult[]> {
  const config = driftConfig(options);
  const now = (deps.now ?? Date.now)();
  const to = options.to ?? now;
  const from = to - options.windowHours * HOUR;
  const window = {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    hours: options.windowHours,
  };
  const results: VersionResult[] = [];
  for (const model of options.models) {
    const versions =
      options.source === 'sql'
        ? await aggregateVersions(deps, config, model, from, to)
        : await streamVersions(deps, config, model, from, to);
    if (!versions.length) {
      results.push({
        model,
        version: null,
        window,
        rows: 0,
        failures: 0,
        report: null,
        error: `no predictions of '${model}' logged between ${window.from} and ${window.to}`,
        maxPsi: null,
        predictionPsi: null,
        drifted: false,
        reasons: [],
        published: false,
        timeline: [],
      });
      continue;
    }
    for (const v of versions) results.push(await finishVersion(deps, options, config, model, window, v, now));
  }
  return results;
}

/** Rows per version in one model's window: the sizing step of the drift job's state machine. */
export interface WindowSize {
  readonly model: string;
  readonly rows: number;
  readonly failures: number;
  readonly versions: Readonly<Record<string, number>>;
}

/**
 * Counts the window's rows per model and version with one SQL query each (Athena on AWS,
 * DuckDB locally), so the state machine can choose between streaming the window through the
 * function and aggregating it in SQL.
 *
 * @example
 * const sizes = await sizeWindow(deps, { models: ['churn'], windowHours: 24, driftPsi: 0.2, to: Date.now() });
 */
export async function sizeWindow(deps: DriftJobDeps, options: DriftJobOptions): Promise<WindowSize[]> {
  const sql = requireSql(deps);
  const to = options.to ?? (deps.now ?? Date.now)();
  const from = to - options.windowHours * HOUR;
  const out: WindowSize[] = [];
  for (const model of options.models) {
    const rows = await sql.engine.query(renderWindowCount(model, from, to, sql.source));
    const versions: Record<string, number> = {};
    let ok = 0;
    let all = 0;
    for (const r of rows) {
      versions[String(r['version'])] = Number(r['ok']);
      ok += Number(r['ok']);
      all += Number(r['n']);
    }
    out.push({ model, rows: ok, failures: all - ok, versions });
  }
  return out;
}

function requireSql(deps: DriftJobDeps): NonNullable<DriftJobDeps['sql']> {
  if (!deps.sql) throw new Error('the drift job has no SQL engine for the prediction log (deps.sql)');
  return deps.sql;
}

function driftConfig(options: DriftJobOptions): DriftConfig {
  const parsed = DriftConfigSchema.safeParse({ ...options.drift, prediction: undefined });
  if (!parsed.success) {
    throw new InvalidParameterError(
      `Invalid drift configuration: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  if (!(options.windowHours > 0)) {
    throw new InvalidParameterError(
      `windowHours must be a positive number of hours (got ${options.windowHours})`,
    );
  }
  return parsed.data;
}

/** A version's baseline profile as summaries, or why there is none. */
async function baselineOf(
  deps: DriftJobDeps,
  model: string,
  version: string,
): Promise<{ baseline?: Baseline; profileRows: number; error?: string }> {
  try {
    const profile = await deps.profiles.get(model, version);
    if (!profile) {
      return {
        profileRows: 0,
        error: `version ${version} of '${model}' has no baseline profile (profile/baseline_profile.json of its run)`,
      };
    }
    return { baseline: profileSummaries(profile), profileRows: profile.rows };
  } catch (err) {
    return { profileRows: 0, error: (err as Error).message };
  }
}

/** The window streamed through the function, one stored object at a time. */
async function streamVersions(
  deps: DriftJobDeps,
  config: DriftConfig,
  model: string,
  from: number,
  to: number,
): Promise<VersionWindow[]> {
  const states = new Map<string, VersionState>();
  const stateOf = async (version: string): Promise<VersionState> => {
    let s = states.get(version);
    if (!s) {
      const b = await baselineOf(deps, model, version);
      s = newState(version, b, config);
      states.set(version, s);
    }
    return s;
  };
  for await (const row of readWindow(deps.store, deps.bucket, model, from, to)) {
    // The lookup first: an await per row would cost a turn of the event loop each.
    const s = states.get(row.version) ?? (await stateOf(row.version));
    if (row.status !== 200 || row.row === null) {
      s.failures++;
      continue;
    }
    s.rows++;
    if (!s.baseline) continue;
    for (const [name, acc] of s.features) add(acc, row.inputs[name]);
    const p = row.prediction ?? Number.NaN;
    s.prediction!.add(p);
    if (Number.isFinite(p)) {
      const h = Math.floor(row.ts / HOUR) * HOUR;
      const point = s.hours.get(h) ?? { n: 0, sum: 0 };
      point.n++;
      point.sum += p;
      s.hours.set(h, point);
    }
  }
  return [...states.values()].map((s) => ({
    version: s.version,
    ...(s.error ? { error: s.error } : {}),
    ...(s.baseline ? { baseline: s.baseline } : {}),
    profileRows: s.profileRows,
    window: {
      rows: s.rows,
      failures: s.failures,
      hours: s.hours,
      ...(s.baseline
        ? {
            features: new Map([...s.features].map(([name, acc]) => [name, acc.finish()])),
            prediction: s.prediction!.finish(),
          }
        : {}),
    },
  }));
}

/** The window aggregated in SQL: the versions counted first, then one aggregation per version. */
async function aggregateVersions(
  deps: DriftJobDeps,
  config: DriftConfig,
  model: string,
  from: number,
  to: number,
): Promise<VersionWindow[]> {
  const sql = requireSql(deps);
  const counts = await sql.engine.query(renderWindowCount(model, from, to, sql.source));
  const out: VersionWindow[] = [];
  for (const c of counts) {
    const version = String(c['version']);
    const b = await baselineOf(deps, model, version);
    if (!b.baseline) {
      const rows = Number(c['ok']);
      out.push({ version, ...b, window: { rows, failures: Number(c['n']) - rows, hours: new Map() } });
      continue;
    }
    const baseline = b.baseline;
    const numeric: { name: string; grid: NumericGrid }[] = [];
    const categorical: string[] = [];
    for (const [name, s] of baseline.features) {
      if (s.kind === 'numeric') numeric.push({ name, grid: gridOf(s, config.gridBins) });
      else categorical.push(name);
    }
    const window = await aggregateWindow(sql.engine, sql.source, {
      model,
      version,
      from,
      to,
      numeric,
      categorical,
      predictionGrid: gridOf(baseline.prediction, config.gridBins),
      maxCategories: config.maxCategories,
    });
    out.push({ version, baseline, profileRows: b.profileRows, window });
  }
  return out;
}

async function finishVersion(
  deps: DriftJobDeps,
  options: DriftJobOptions,
  config: DriftConfig,
  model: string,
  window: VersionResult['window'],
  s: VersionWindow,
  now: number,
): Promise<VersionResult> {
  const timeline: HourPoint[] = [];
  for (
    let h = Date.parse(window.from) - (Date.parse(window.from) % HOUR);
    h < Date.parse(window.to);
    h += HOUR
  ) {
    const p = s.window.hours.get(h);
    timeline.push({ hour: new Date(h).toISOString(), count: p?.n ?? 0, mean: p ? p.sum / p.n : null });
  }
  const base = {
    model,
    version: s.version,
    window,
    rows: s.window.rows,
    failures: s.window.failures,
    timeline,
  };
  if (!s.baseline || !s.window.features || !s.window.prediction) {
    return {
      ...base,
      report: null,
      error: s.error,
      maxPsi: null,
      predictionPsi: null,
      drifted: false,
      reasons: [],
      published: false,
    };
  }
  const baseline = s.baseline;
  const current = s.window.features;
  const currentPrediction = s.window.prediction;
  const features = [...baseline.features.keys()].map((name) =>
    compareFeature(name, baseline.features.get(name)!, current.get(name)!, config),
  );
  const prediction = compareFeature('prediction', baseline.prediction, currentPrediction, config);
  const report: DriftReport = {
    baselineRows: s.profileRows,
    currentRows: s.window.rows,
    features,
    prediction,
    summary: summarize(features, config.driftShare),
  };
  const { maxPsi, predictionPsi, reasons } = driftReasons(report, options.driftPsi);
  const drifted = reasons.length > 0;
  // Stamped when known, not when the run began: an alarm looks at the period the metric arrives in.
  const emittedAt = (deps.now ?? Date.now)();
  for (const line of driftMetricLines(model, s.version, report, { maxPsi, predictionPsi, now: emittedAt })) {
    deps.emit(line);
  }

  const keys = reportKeys(model, s.version, now);
  const latestKey = latestReportKey(model, s.version);
  const previous = await readJson<{ drifted?: boolean }>(deps.store, deps.bucket, latestKey);
  const publish = drifted && previous?.drifted !== true;
  // A run without a verdict keeps the previous state, as the alarms ignore missing data.
  const judged = report.summary.judged > 0 || predictionPsi !== null;
  const state = judged ? drifted : previous?.drifted === true;
  const summaries = {
    baseline: new Map<string, ProfileSummary>([...baseline.features, ['prediction', baseline.prediction]]),
    current: new Map<string, ProfileSummary>([...current, ['prediction', currentPrediction]]),
  };
  const result: VersionResult = {
    ...base,
    report,
    maxPsi,
    predictionPsi,
    drifted,
    reasons,
    published: publish,
    reportKeys: keys,
    histograms: {
      features: [...baseline.features.keys()].map((name) =>
        histogramOf(name, baseline.features.get(name)!, current.get(name)!),
      ),
      prediction: histogramOf('prediction', baseline.prediction, currentPrediction),
    },
  };
  const html = renderDriftHtml(
    report,
    summaries,
    {
      baseline: `baseline profile of ${model} v${s.version}`,
      current: `predictions ${window.from} – ${window.to}`,
    },
    { title: `Drift of ${model} version ${s.version}`, timeline },
  );
  await deps.store.put(deps.bucket, keys.json, `${JSON.stringify(result, null, 2)}\n`, {
    contentType: 'application/json',
  });
  await deps.store.put(deps.bucket, keys.html, html, { contentType: 'text/html; charset=utf-8' });
  const pointer = {
    model,
    version: s.version,
    at: new Date(now).toISOString(),
    drifted: state,
    verdict: report.summary.verdict,
    ...keys,
  };
  await deps.store.put(deps.bucket, latestKey, `${JSON.stringify(pointer)}\n`, {
    contentType: 'application/json',
  });
  await deps.store.put(deps.bucket, latestReportKey(model), `${JSON.stringify(pointer)}\n`, {
    contentType: 'application/json',
  });
  if (publish) {
    await deps.publisher.publish(DRIFT_EVENT.detailType, {
      model,
      version: s.version,
      reason: `${model} v${s.version}: ${reasons.join('; ')}`,
      driftedShare: report.summary.driftedShare,
      maxPsi,
      predictionPsi,
      report: keys.json,
    });
  }
  return result;
}

async function readJson<T>(store: ObjectStore, bucket: string, key: string): Promise<T | undefined> {
  const bytes = await store.get(bucket, key);
  if (!bytes) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch {
    return undefined;
  }
}
