import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { ApiError } from '../api/http';
import {
  type PerformanceMetrics,
  type PerformanceResponse,
  type PerformanceWindow,
  performance,
} from '../api/monitoring';
import { fmtNum, fmtTime, pct, Show, useAsync } from './async';
import { Chart, colour } from './chart';
import { alignByTime, timeScale } from './time-series';

const METRICS = {
  binary: ['auc', 'accuracy', 'f1', 'precision', 'recall'],
  regression: ['rmse', 'mae'],
} as const satisfies Record<PerformanceWindow['task'], (keyof PerformanceMetrics)[]>;

const num = (_: uPlot, v: number | null) => fmtNum(v);

/** One version's metrics per window of prediction time, one line per metric. */
function WindowChart(props: {
  version: string;
  windows: PerformanceWindow[];
  range: PerformanceResponse['range'];
}) {
  const { windows } = props;
  const task = windows[0]?.task ?? 'binary';
  const keys = METRICS[task];
  const { data, options } = useMemo(() => {
    const oldest = [...windows].sort((a, b) => a.start.localeCompare(b.start));
    const lines = keys.map((k) =>
      oldest.map((w) => ({ at: Date.parse(w.start), value: w.metrics?.[k] ?? null })),
    );
    return {
      data: alignByTime(lines),
      options: {
        title: `v${props.version}: ${keys.join(', ')} per window`,
        height: 220,
        // The range the job scored, so windows without labels show as gaps.
        scales: {
          x: props.range
            ? timeScale(Date.parse(props.range.start), Date.parse(props.range.end))
            : timeScale(),
        },
        series: [
          { label: 'window' },
          ...keys.map((k, i) => ({ label: k, stroke: colour(i), width: 2, spanGaps: true, value: num })),
        ],
      },
    };
  }, [windows, keys, props.version, props.range]);
  if (!windows.some((w) => w.metrics)) {
    return (
      <p class="muted">
        v{props.version}: no window has enough labelled predictions for metrics yet (
        {windows.reduce((n, w) => n + w.labelled_rows, 0)} labelled of{' '}
        {windows.reduce((n, w) => n + w.rows, 0)}
        ).
      </p>
    );
  }
  return <Chart label={`performance of v${props.version} per window`} data={data} options={options} />;
}

const primary = (task: PerformanceWindow['task'], m: PerformanceMetrics | null) =>
  m ? (task === 'binary' ? m.auc : m.rmse) : null;

function Report(props: { r: PerformanceResponse }) {
  const { r } = props;
  const byVersion = new Map<string, PerformanceWindow[]>();
  for (const w of r.windows) byVersion.set(w.version, [...(byVersion.get(w.version) ?? []), w]);
  return (
    <>
      <p class="muted">
        Latest run {r.generated_at ? fmtTime(Date.parse(r.generated_at)) : ''}
        {r.range
          ? `, predictions of ${fmtTime(Date.parse(r.range.start))} – ${fmtTime(Date.parse(r.range.end))}`
          : ''}
        {r.serving_version ? `; serving v${r.serving_version}` : ''}.
      </p>
      <table class="data performance">
        <thead>
          <tr>
            <th>Version</th>
            <th class="num">Predictions</th>
            <th class="num">Labelled</th>
            <th class="num">AUC / RMSE</th>
            <th class="num">At training</th>
            <th class="num">Drop</th>
            <th class="num">Accuracy</th>
            <th class="num">F1 / MAE</th>
          </tr>
        </thead>
        <tbody>
          {r.versions.map((v) => (
            <tr key={v.version}>
              <td>v{v.version}</td>
              <td class="num">{v.rows}</td>
              <td class="num">
                {v.labelled_rows} ({pct(v.labelled_share)})
              </td>
              <td class="num">{fmtNum(primary(v.task, v.metrics))}</td>
              <td class="num">{v.training ? `${v.training.metric} ${fmtNum(v.training.value)}` : '—'}</td>
              <td class="num">{pct(v.drop)}</td>
              <td class="num">{fmtNum(v.metrics?.accuracy)}</td>
              <td class="num">{fmtNum(v.task === 'binary' ? v.metrics?.f1 : v.metrics?.mae)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {r.skipped.length ? (
        <p class="muted">
          Left out: {r.skipped.map((s) => `v${s.version} (${s.reason}, ${s.rows} predictions)`).join('; ')}
        </p>
      ) : null}
      <div class="grid2">
        {[...byVersion].map(([version, windows]) => (
          <div key={version}>
            <WindowChart version={version} windows={windows} range={r.range} />
          </div>
        ))}
      </div>
      {r.proxy?.versions.length ? (
        <>
          <h2>Proxy metrics from A/B outcomes</h2>
          <table class="data proxy">
            <thead>
              <tr>
                <th>Experiment</th>
                <th>Arm</th>
                <th>Version</th>
                <th class="num">Outcomes</th>
                <th class="num">Conversion rate</th>
                <th class="num">Mean value</th>
              </tr>
            </thead>
            <tbody>
              {r.proxy.versions.map((p) => (
                <tr key={`${p.experiment}-${p.arm}`}>
                  <td>{p.experiment}</td>
                  <td>{p.arm}</td>
                  <td>v{p.version}</td>
                  <td class="num">{p.outcomes}</td>
                  <td class="num">{pct(p.conversion_rate, 2)}</td>
                  <td class="num">{fmtNum(p.value_mean)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </>
  );
}

/** Metrics from delayed labels per version and window, against the version's training value. */
export function PerformancePanel(props: { model: string; version?: string }) {
  const loaded = useAsync(
    () =>
      performance(props.model, { version: props.version, limit: 500 }).catch((e: unknown) => {
        if (e instanceof ApiError && e.status < 500) return e;
        throw e;
      }),
    [props.model, props.version],
  );
  return (
    <Show loaded={loaded}>
      {(r) =>
        r instanceof ApiError ? (
          <p class="note">{r.message}</p>
        ) : r.generated_at === null || (r.versions.length === 0 && !r.proxy?.versions.length) ? (
          <p class="note">
            No performance from labels yet: post the true outcomes to <code>POST /v1/labels</code> (by the
            prediction's request id); the performance job joins them to the logged predictions on its schedule
            (hourly by default).
          </p>
        ) : (
          <Report r={r} />
        )
      }
    </Show>
  );
}
