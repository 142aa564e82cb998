import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { ApiError } from '../api/http';
import { type RequestMetricsResponse, requestMetrics } from '../api/monitoring';
import { fmtNum, pct, Show, useAsync } from './async';
import { Chart, colour } from './chart';
import { alignByTime, percentAxis, timeScale } from './time-series';

const ms = (_: uPlot, v: number | null) => (v === null ? '—' : `${fmtNum(v, 1)} ms`);
const share = (_: uPlot, v: number | null) => pct(v, 2);

function Charts(props: { m: RequestMetricsResponse }) {
  const { series } = props.m;
  // The whole range asked for, so a quiet stretch shows as one.
  const x = useMemo(() => timeScale(Date.parse(props.m.start), Date.parse(props.m.end)), [props.m]);
  const latency = useMemo(() => {
    const lines = series.flatMap((s) =>
      (['latency_p50_ms', 'latency_p99_ms'] as const).map((k) =>
        s.points.map((p) => ({ at: Date.parse(p.timestamp), value: p[k] })),
      ),
    );
    return {
      data: alignByTime(lines),
      options: {
        title: 'Latency of successful requests',
        height: 220,
        scales: { x },
        axes: [{}, { size: 64, values: (_: uPlot, t: number[]) => t.map((v) => `${v} ms`) }],
        series: [
          { label: 'minute' },
          ...series.flatMap((s, i) => [
            { label: `v${s.version} p50`, stroke: colour(i), width: 2, value: ms },
            { label: `v${s.version} p99`, stroke: colour(i), width: 1.5, dash: [6, 4], value: ms },
          ]),
        ],
      },
    };
  }, [series, x]);
  const errors = useMemo(() => {
    const lines = series.map((s) =>
      s.points.map((p) => ({ at: Date.parse(p.timestamp), value: p.error_rate })),
    );
    return {
      data: alignByTime(lines),
      options: {
        title: 'Error rate (5xx among requests)',
        height: 220,
        scales: {
          x,
          y: { range: (_: uPlot, _min: number, max: number) => [0, Math.max(0.01, max)] as [number, number] },
        },
        axes: [{}, percentAxis],
        series: [
          { label: 'minute' },
          ...series.map((s, i) => ({ label: `v${s.version}`, stroke: colour(i), width: 2, value: share })),
        ],
      },
    };
  }, [series, x]);
  return (
    <div class="grid2 request-metrics">
      <Chart label="latency p50 and p99 per minute" data={latency.data} options={latency.options} />
      <Chart label="error rate per minute" data={errors.data} options={errors.options} />
    </div>
  );
}

function Totals(props: { m: RequestMetricsResponse }) {
  return (
    <table class="data request-totals">
      <thead>
        <tr>
          <th>Version</th>
          <th class="num">Requests</th>
          <th class="num">Errors (5xx)</th>
          <th class="num">Error rate</th>
          <th class="num">Refused (4xx)</th>
          <th class="num">Worst p99</th>
        </tr>
      </thead>
      <tbody>
        {props.m.series.map((s) => {
          const sum = (k: 'requests' | 'errors' | 'rejected') => s.points.reduce((n, p) => n + p[k], 0);
          const p99s = s.points.map((p) => p.latency_p99_ms).filter((v): v is number => v !== null);
          const requests = sum('requests');
          return (
            <tr key={s.version} class={sum('errors') > 0 ? 'drifted' : ''}>
              <td>v{s.version}</td>
              <td class="num">{requests}</td>
              <td class="num">{sum('errors')}</td>
              <td class="num">{pct(requests ? sum('errors') / requests : null, 2)}</td>
              <td class="num">{sum('rejected')}</td>
              <td class="num">{p99s.length ? `${fmtNum(Math.max(...p99s), 1)} ms` : '—'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Request count, latency p50/p99 and error rate per minute of the last hour, per served version. */
export function RequestMetricsPanel(props: { model: string }) {
  const loaded = useAsync(
    () =>
      requestMetrics(props.model, 60, 60).catch((e: unknown) => {
        if (e instanceof ApiError && e.status < 500) return e;
        throw e;
      }),
    [props.model],
  );
  return (
    <Show loaded={loaded}>
      {(m) =>
        m instanceof ApiError ? (
          <p class="note">{m.message}</p>
        ) : m.series.length === 0 ? (
          <p class="note">
            No request in the last hour: predictions sent to{' '}
            <code>POST /v1/models/{props.model}/predict</code> (or <code>/v2/models/{props.model}/infer</code>
            ) show here once their metrics reach CloudWatch (a minute or two on AWS).
          </p>
        ) : (
          <>
            <Totals m={m} />
            <Charts m={m} />
          </>
        )
      }
    </Show>
  );
}
