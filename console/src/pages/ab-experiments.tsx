import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import {
  type Analysis,
  analysis,
  listAbExperiments,
  type ShadowReport,
  shadowReport,
} from '../api/experiments';
import { ApiError } from '../api/http';
import { fmtNum, pct, Show, useAsync } from '../components/async';
import { bars, Chart, colour } from '../components/chart';
import { ModelPicker } from '../components/model-picker';

const interval = (ci: [number | null, number | null], f: (v: number | null) => string) =>
  `[${f(ci[0])}, ${f(ci[1])}]`;

function AnalysisView(props: { id: string }) {
  const loaded = useAsync(() => analysis(props.id), [props.id]);
  return <Show loaded={loaded}>{(a) => <AnalysisTables a={a} />}</Show>;
}

function AnalysisTables(props: { a: Analysis }) {
  const { a } = props;
  return (
    <>
      <p>
        Decision:{' '}
        <strong
          class={`badge decision ${a.decision === 'promote' ? 'good' : a.decision === 'stop' ? 'bad' : ''}`}
        >
          {a.decision}
        </strong>{' '}
        {a.reason}
      </p>
      {a.srm.mismatch ? (
        <p class="error">
          Sample ratio mismatch (p = {fmtNum(a.srm.p_value)}): the split is not the planned one.
        </p>
      ) : null}
      <table class="data">
        <thead>
          <tr>
            <th>Variant</th>
            <th class="num">Units</th>
            <th class="num">Share (planned)</th>
            <th class="num">Conversions</th>
            <th class="num">Rate</th>
            <th class="num">Mean value</th>
          </tr>
        </thead>
        <tbody>
          {a.variants.map((v) => (
            <tr key={v.name}>
              <td>{v.name}</td>
              <td class="num">{v.units}</td>
              <td class="num">
                {pct(v.observed_share)} ({pct(v.planned_share)})
              </td>
              <td class="num">{v.conversions}</td>
              <td class="num">{pct(v.conversion_rate, 2)}</td>
              <td class="num">{fmtNum(v.value_mean)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table class="data analysis">
        <thead>
          <tr>
            <th>Treatment</th>
            <th>Metric</th>
            <th class="num">Difference</th>
            <th class="num">{Math.round(a.confidence_level * 100)}% interval</th>
            <th class="num">Relative lift</th>
            <th class="num">Lift interval</th>
            <th class="num">p</th>
            <th class="num">always-valid p</th>
            <th>Decision</th>
          </tr>
        </thead>
        <tbody>
          {a.comparisons.flatMap((c) =>
            (['conversion', 'value'] as const).map((metric) => {
              const m = c[metric];
              return (
                <tr
                  key={`${c.treatment}-${metric}`}
                  class={metric === a.primary_metric ? 'primary' : 'muted'}
                >
                  <td>{c.treatment}</td>
                  <td>
                    {metric}
                    {metric === a.primary_metric ? ' (primary)' : ''}
                  </td>
                  <td class="num">{fmtNum(m.difference)}</td>
                  <td class="num">{interval(m.difference_ci, (v) => fmtNum(v))}</td>
                  <td class="num">{pct(m.relative_lift)}</td>
                  <td class="num">{interval(m.relative_lift_ci, (v) => pct(v))}</td>
                  <td class="num">{fmtNum(m.p_value)}</td>
                  <td class="num">{fmtNum(m.sequential_p_value)}</td>
                  <td>{metric === a.primary_metric ? c.decision : ''}</td>
                </tr>
              );
            }),
          )}
        </tbody>
      </table>
    </>
  );
}

function ShadowView(props: { model: string }) {
  const loaded = useAsync(
    () =>
      shadowReport(props.model).catch((e: unknown) => {
        if (e instanceof ApiError && e.status < 500) return e;
        throw e;
      }),
    [props.model],
  );
  return (
    <Show loaded={loaded}>
      {(r) =>
        r instanceof ApiError ? <p class="muted">No shadow report: {r.message}</p> : <ShadowTables r={r} />
      }
    </Show>
  );
}

function ShadowTables(props: { r: ShadowReport }) {
  const { r } = props;
  const data = useMemo(
    () => [r.histogram.edges.slice(0, -1), r.histogram.live, r.histogram.shadow] as uPlot.AlignedData,
    [r],
  );
  const options = useMemo(
    () => ({
      title: 'Predictions: live against shadow',
      height: 220,
      scales: { x: { time: false } },
      series: [
        { label: 'prediction' },
        {
          label: `live (v${r.live_versions.join(', v')})`,
          stroke: colour(0),
          fill: `${colour(0)}55`,
          paths: bars,
        },
        { label: `shadow v${r.shadow_version}`, stroke: colour(1), fill: `${colour(1)}55`, paths: bars },
      ],
    }),
    [r],
  );
  return (
    <>
      <p class={r.divergence.divergent ? 'error' : ''}>
        Shadow v{r.shadow_version}: {r.divergence.reason}
      </p>
      <table class="kv">
        <tbody>
          <tr>
            <th>Rows (scored, shadow errors)</th>
            <td>
              {r.rows} ({r.scored}, {r.shadow_errors})
            </td>
          </tr>
          <tr>
            <th>Agreement ({r.agreement_rule})</th>
            <td>{pct(r.agreement_rate, 2)}</td>
          </tr>
          <tr>
            <th>Mean / max absolute difference</th>
            <td>
              {fmtNum(r.mean_abs_diff)} / {fmtNum(r.max_abs_diff)}
            </td>
          </tr>
        </tbody>
      </table>
      {r.histogram.edges.length ? (
        <Chart label="prediction histograms, live and shadow" data={data} options={options} />
      ) : null}
    </>
  );
}

function ModelExperiments(props: { model: string; id?: string }) {
  const loaded = useAsync(() => listAbExperiments(props.model), [props.model]);
  return (
    <>
      <h2>A/B tests of {props.model}</h2>
      <Show loaded={loaded}>
        {(list) =>
          list.length === 0 ? (
            <p class="muted">No A/B test of this model.</p>
          ) : (
            list.map((e) => (
              <div class="card ab" key={e.id} data-experiment={e.id}>
                <h2>
                  {e.id} <span class="badge">{e.status}</span>
                </h2>
                <p class="muted">
                  control v{e.control_version} ({pct(e.allocation.control, 0)}) against treatment v
                  {e.treatment_version} ({pct(e.allocation.treatment, 0)}) · created {e.created_at}
                  {e.stopped_at ? ` · stopped ${e.stopped_at}` : ''}
                </p>
                <AnalysisView id={e.id} />
              </div>
            ))
          )
        }
      </Show>
      <h2>Shadow</h2>
      <ShadowView model={props.model} />
    </>
  );
}

/** A model's A/B tests with their analysis (intervals, decision) and its shadow report. */
export function AbExperimentsPage(props: { model?: string; id?: string }) {
  return (
    <section>
      <h1>A/B tests and shadow</h1>
      <ModelPicker current={props.model} link={(m) => `#/ab?model=${encodeURIComponent(m)}`} />
      {props.model ? <ModelExperiments model={props.model} id={props.id} /> : null}
    </section>
  );
}
