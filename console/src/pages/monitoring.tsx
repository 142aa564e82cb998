import { useMemo } from 'preact/hooks';
import { ApiError } from '../api/http';
import {
  type DriftReportDetail,
  type DriftReportSummary,
  type DriftReportsResponse,
  driftReports,
  type FeatureScores,
} from '../api/monitoring';
import { fmtNum, fmtTime, pct, Show, useAsync } from '../components/async';
import { Chart, colour } from '../components/chart';
import { PairHistogram } from '../components/histogram';
import { ModelPicker } from '../components/model-picker';
import { PerformancePanel } from '../components/performance-panel';
import { RequestMetricsPanel } from '../components/request-metrics-panel';
import { alignByTime, timeScale } from '../components/time-series';
import { href, navigate, useRoute } from '../router';

/** The drift scores the chart can show; KS and Wasserstein are numeric only, Jensen–Shannon categorical only. */
const SCORES = {
  psi: { label: 'PSI', of: (f: FeatureScores) => f.psi },
  ks: { label: 'KS statistic', of: (f: FeatureScores) => f.ks_statistic },
  wasserstein: { label: 'Wasserstein (÷ baseline std)', of: (f: FeatureScores) => f.wasserstein },
  js: { label: 'Jensen–Shannon distance', of: (f: FeatureScores) => f.jensen_shannon },
} as const;
type Score = keyof typeof SCORES;

/** What the page shows, kept in the address so a view can be shared: `#/monitoring/<m>?version=&score=&feature=`. */
interface View {
  model: string;
  version?: string;
  score: Score;
  feature?: string;
}

function viewHref(v: View): string {
  const q = new URLSearchParams();
  if (v.version) q.set('version', v.version);
  if (v.score !== 'psi') q.set('score', v.score);
  if (v.feature) q.set('feature', v.feature);
  return `${href('monitoring', v.model)}${q.size ? `?${q}` : ''}`;
}

/** A 4xx is an answer to show (no such model, a bad parameter); anything else is an error. */
const answer = <T,>(p: Promise<T>): Promise<T | ApiError> =>
  p.catch((e: unknown) => {
    if (e instanceof ApiError && e.status < 500) return e;
    throw e;
  });

const NO_REPORT = (
  <p class="note">
    No drift report yet: the drift job runs over the prediction log on its schedule (hourly by default), or
    run <code>mlops monitor run</code> on the local runtime. A version needs a baseline profile, logged with
    its model at training.
  </p>
);

function scoreChartData(reports: readonly DriftReportSummary[], score: Score) {
  const oldest = [...reports].reverse();
  const names = [...new Set(oldest.flatMap((r) => r.features.map((f) => f.name)))];
  const of = SCORES[score].of;
  const line = (pick: (r: DriftReportSummary) => FeatureScores | null | undefined) =>
    oldest.map((r) => {
      const f = pick(r);
      return { at: Date.parse(r.generated_at), value: f ? of(f) : null };
    });
  const lines = [
    ...names.map((n) => line((r) => r.features.find((f) => f.name === n))),
    line((r) => r.prediction),
  ];
  return { names: [...names, 'prediction'], lines };
}

/** Per-feature drift score of every report of the version, one line per feature. */
function ScoresOverTime(props: { reports: readonly DriftReportSummary[]; view: View }) {
  const { reports, view } = props;
  const { names, lines } = useMemo(() => scoreChartData(reports, view.score), [reports, view.score]);
  const data = useMemo(() => alignByTime(lines), [lines]);
  const options = useMemo(
    () => ({
      title: `${SCORES[view.score].label} per feature`,
      height: 260,
      scales: { x: timeScale() },
      series: [
        { label: 'report' },
        ...names.map((n, i) => ({
          label: n,
          stroke: colour(i),
          width: n === 'prediction' ? 1.5 : 2,
          ...(n === 'prediction' ? { dash: [6, 4] } : {}),
          spanGaps: true,
          value: (_: unknown, v: number | null) => fmtNum(v),
        })),
      ],
    }),
    [names, view.score],
  );
  const any = lines.some((l) => l.some((p) => p.value !== null));
  return (
    <>
      <p class="controls">
        <label>
          Score{' '}
          <select
            name="score"
            value={view.score}
            onChange={(e) => navigate(viewHref({ ...view, score: e.currentTarget.value as Score }))}
          >
            {Object.entries(SCORES).map(([k, s]) => (
              <option key={k} value={k}>
                {s.label}
              </option>
            ))}
          </select>
        </label>{' '}
        <span class="muted">
          {reports.length} report{reports.length === 1 ? '' : 's'} of v{view.version}
        </span>
      </p>
      {any ? (
        <div class="drift-scores">
          <Chart label={`${SCORES[view.score].label} per feature over time`} data={data} options={options} />
        </div>
      ) : (
        <p class="muted">
          No feature has a {SCORES[view.score].label} in these reports (KS and Wasserstein score numeric
          features, Jensen–Shannon categorical ones; none without enough samples).
        </p>
      )}
    </>
  );
}

function Verdict(props: { f: FeatureScores }) {
  const { f } = props;
  if (f.drifted === true)
    return (
      <span class="badge bad" title={`${f.method} ${fmtNum(f.score)} against ${f.threshold}`}>
        ▲ drifted
      </span>
    );
  if (f.verdict === 'insufficient_data') return <span class="badge">too few values</span>;
  return <span class="badge good">ok</span>;
}

function FeatureRow(props: { f: FeatureScores; view: View; selected: boolean; hasHistogram: boolean }) {
  const { f, view } = props;
  const drifted = f.drifted === true;
  const classes = [drifted ? 'drifted' : '', props.selected ? 'selected' : ''].filter(Boolean).join(' ');
  return (
    <tr class={classes} data-feature={f.name} data-drifted={String(drifted)}>
      <td>{props.hasHistogram ? <a href={viewHref({ ...view, feature: f.name })}>{f.name}</a> : f.name}</td>
      <td>{f.kind}</td>
      <td>
        <Verdict f={f} />
      </td>
      <td>
        {f.method} ({f.threshold})
      </td>
      <td class="num">{fmtNum(f.score)}</td>
      <td class="num">{fmtNum(f.psi)}</td>
      <td class="num">{fmtNum(f.ks_statistic)}</td>
      <td class="num">{fmtNum(f.wasserstein)}</td>
      <td class="num">{fmtNum(f.jensen_shannon)}</td>
      <td class="num">{f.missing_rate_change === 0 ? '0' : pct(f.missing_rate_change)}</td>
      <td class="num">
        {f.baseline_count} / {f.current_count}
      </td>
    </tr>
  );
}

/** The latest report's features, drifted ones marked; a feature's name opens its histogram. */
function FeatureTable(props: { report: DriftReportDetail; view: View; feature?: string }) {
  const { report, view } = props;
  const withHistogram = new Set(report.histograms.map((h) => h.name));
  return (
    <table class="data drift-features">
      <thead>
        <tr>
          <th>Feature</th>
          <th>Type</th>
          <th>Verdict</th>
          <th>Test (threshold)</th>
          <th class="num">Score</th>
          <th class="num">PSI</th>
          <th class="num">KS</th>
          <th class="num">Wasserstein</th>
          <th class="num">Jensen–Shannon</th>
          <th class="num">Missing Δ</th>
          <th class="num">Values (baseline / now)</th>
        </tr>
      </thead>
      <tbody>
        {report.features.map((f) => (
          <FeatureRow
            key={f.name}
            f={f}
            view={view}
            selected={f.name === props.feature}
            hasHistogram={withHistogram.has(f.name)}
          />
        ))}
        {report.prediction ? (
          <FeatureRow f={report.prediction} view={view} selected={false} hasHistogram={false} />
        ) : null}
      </tbody>
    </table>
  );
}

function ReportSummary(props: { report: DriftReportDetail }) {
  const r = props.report;
  return (
    <p>
      <span class={`badge ${r.drifted ? 'bad' : r.verdict === 'no_drift' ? 'good' : ''}`}>
        {r.drifted ? 'drift' : r.verdict.replace('_', ' ')}
      </span>{' '}
      Report of {fmtTime(Date.parse(r.generated_at))} over {fmtTime(Date.parse(r.window.start))} –{' '}
      {fmtTime(Date.parse(r.window.end))}: {r.window.rows} predictions ({r.window.failures} failed) against a
      baseline of {r.baseline_rows} rows; {pct(r.drifted_share)} of the judged features drifted (threshold{' '}
      {pct(r.drift_share_threshold, 0)}).
      {r.reasons.length ? <span class="error-inline"> {r.reasons.join('; ')}</span> : null}
    </p>
  );
}

/** Hourly mean of the prediction over the report's window. */
function PredictionTimeline(props: { report: DriftReportDetail }) {
  const timeline = props.report.timeline;
  const data = useMemo(
    () => alignByTime([timeline.map((p) => ({ at: Date.parse(p.hour), value: p.mean }))]),
    [timeline],
  );
  const options = useMemo(
    () => ({
      title: 'Mean prediction per hour',
      height: 200,
      scales: { x: timeScale() },
      series: [{ label: 'hour' }, { label: 'mean', stroke: colour(2), width: 2 }],
    }),
    [],
  );
  if (!timeline.some((p) => p.mean !== null)) return null;
  return <Chart label="mean prediction per hour of the window" data={data} options={options} />;
}

function LatestReport(props: { report: DriftReportDetail; view: View }) {
  const { report, view } = props;
  const drifted = report.features.find((f) => f.drifted === true);
  const feature = view.feature ?? drifted?.name ?? report.histograms[0]?.name;
  const histogram = report.histograms.find((h) => h.name === feature);
  const p = report.prediction_histogram;
  const baseline = { label: `baseline (v${report.version} at training)` };
  return (
    <>
      <ReportSummary report={report} />
      <FeatureTable report={report} view={view} feature={feature} />
      <div class="grid2">
        <div class="card">
          <h2>
            Distribution
            {report.histograms.length ? (
              <>
                {' of '}
                <select
                  name="feature"
                  value={feature}
                  onChange={(e) => navigate(viewHref({ ...view, feature: e.currentTarget.value }))}
                >
                  {report.histograms.map((h) => (
                    <option key={h.name} value={h.name}>
                      {h.name}
                    </option>
                  ))}
                </select>
              </>
            ) : null}
          </h2>
          {histogram ? (
            <PairHistogram
              title={`${histogram.name}: baseline against current`}
              labels={histogram.labels}
              first={{ ...baseline, values: histogram.baseline_share }}
              second={{ label: 'current window', values: histogram.current_share }}
            />
          ) : (
            <p class="muted">This report has no histograms (written before the job stored them).</p>
          )}
        </div>
        <div class="card">
          <h2>Prediction distribution</h2>
          {p ? (
            <PairHistogram
              title="prediction: baseline against current"
              labels={p.labels}
              first={{ ...baseline, values: p.baseline_share }}
              second={{ label: 'current window', values: p.current_share }}
            />
          ) : (
            <p class="muted">This report has no prediction histogram.</p>
          )}
          <PredictionTimeline report={report} />
        </div>
      </div>
    </>
  );
}

/** The versions the drift job reported on, as links; the shown one marked. */
function VersionPicker(props: { versions: string[]; view: View }) {
  if (props.versions.length < 2) return null;
  return (
    <p>
      Version:{' '}
      {props.versions.map((v) => (
        <a
          key={v}
          href={viewHref({ ...props.view, version: v, feature: undefined })}
          class={`badge ${v === props.view.version ? 'good' : ''}`}
        >
          v{v}
        </a>
      ))}
    </p>
  );
}

async function loadDrift(model: string, version: string | undefined) {
  const all = await driftReports(model, { limit: 500 });
  const versions = [...new Set(all.reports.map((r) => r.version))].sort((a, b) => Number(b) - Number(a));
  const shown = version ?? all.latest?.version;
  // The model's latest report may be of another version: ask for this one's.
  const mine: DriftReportsResponse =
    shown === undefined || shown === all.latest?.version
      ? { ...all, reports: all.reports.filter((r) => r.version === shown) }
      : await driftReports(model, { version: shown, limit: 500 });
  return { versions, version: shown, drift: mine };
}

function Drift(props: { view: View }) {
  const { view } = props;
  const loaded = useAsync(() => answer(loadDrift(view.model, view.version)), [view.model, view.version]);
  return (
    <Show loaded={loaded}>
      {(d) => {
        if (d instanceof ApiError) return <p class="note">{d.message}</p>;
        const shown = { ...view, version: d.version };
        return (
          <>
            <VersionPicker versions={d.versions} view={shown} />
            {d.drift.latest ? (
              <>
                <ScoresOverTime reports={d.drift.reports} view={shown} />
                <h2>Latest report</h2>
                <LatestReport report={d.drift.latest} view={shown} />
              </>
            ) : (
              NO_REPORT
            )}
          </>
        );
      }}
    </Show>
  );
}

/** Drift, predictions, performance from labels, latency and errors of a served model. */
export function MonitoringPage(props: { model?: string }) {
  const { query } = useRoute();
  const score = query.get('score');
  const view: View | undefined = props.model
    ? {
        model: props.model,
        version: query.get('version') ?? undefined,
        score: score && score in SCORES ? (score as Score) : 'psi',
        feature: query.get('feature') ?? undefined,
      }
    : undefined;
  return (
    <section>
      <h1>Monitoring{view ? ` of ${view.model}` : ''}</h1>
      <ModelPicker current={props.model} link={(m) => href('monitoring', m)} />
      {view ? (
        <>
          <h2>Drift</h2>
          <Drift view={view} />
          <h2>Latency and errors, last hour</h2>
          <RequestMetricsPanel model={view.model} />
          <h2>Performance from labels</h2>
          <PerformancePanel model={view.model} version={view.version} />
        </>
      ) : (
        <p class="muted">Pick a model to see its drift, performance, latency and errors.</p>
      )}
    </section>
  );
}
