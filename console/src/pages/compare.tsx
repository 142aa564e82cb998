import { useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { getRun, metricHistory, metricNumber, type Run } from '../api/tracking';
import { fmtNum, Show, useAsync } from '../components/async';
import { Chart, colour } from '../components/chart';
import { href } from '../router';

interface Loaded {
  runs: Run[];
  /** metric → one step history per run (same order as runs). */
  curves: Map<string, { step: number; value: number }[][]>;
}

async function loadComparison(ids: string[]): Promise<Loaded> {
  const runs = await Promise.all(ids.map(getRun));
  const keys = [...new Set(runs.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))].sort();
  const curves = new Map<string, { step: number; value: number }[][]>();
  await Promise.all(
    keys.map(async (k) => {
      const per = await Promise.all(
        runs.map(async (r) =>
          (r.data.metrics ?? []).some((m) => m.key === k)
            ? (await metricHistory(r.info.run_id, k)).map((m) => ({
                step: m.step,
                value: metricNumber(m.value),
              }))
            : [],
        ),
      );
      curves.set(k, per);
    }),
  );
  return { runs, curves };
}

const runLabel = (r: Run) => r.info.run_name || r.info.run_id.slice(0, 8);

/** Steps of all runs on one x axis; a run without a value at a step has a gap there. */
function aligned(per: { step: number; value: number }[][]): uPlot.AlignedData {
  const steps = [...new Set(per.flatMap((h) => h.map((p) => p.step)))].sort((a, b) => a - b);
  const at = new Map(steps.map((s, i) => [s, i]));
  const ys = per.map((h) => {
    const y: (number | null)[] = new Array(steps.length).fill(null);
    for (const p of h) y[at.get(p.step) as number] = p.value;
    return y;
  });
  return [steps, ...ys] as uPlot.AlignedData;
}

function CurveChart(props: { metric: string; runs: Run[]; per: { step: number; value: number }[][] }) {
  const data = useMemo(() => aligned(props.per), [props.per]);
  const options = useMemo(
    () => ({
      title: props.metric,
      height: 240,
      scales: { x: { time: false } },
      series: [
        { label: 'step' },
        ...props.runs.map((r, i) => ({ label: runLabel(r), stroke: colour(i), width: 2, spanGaps: true })),
      ],
    }),
    [props.metric, props.runs],
  );
  return (
    <div class="card curve" data-metric={props.metric} data-curves={props.runs.length}>
      <Chart label={`${props.metric} by step, one curve per run`} data={data} options={options} />
    </div>
  );
}

function ParamDiff(props: { runs: Run[] }) {
  const [showSame, setShowSame] = useState(false);
  const keys = [...new Set(props.runs.flatMap((r) => (r.data.params ?? []).map((p) => p.key)))].sort();
  const value = (r: Run, k: string) => r.data.params?.find((p) => p.key === k)?.value;
  const rows = keys.map((k) => {
    const values = props.runs.map((r) => value(r, k));
    return { k, values, differs: new Set(values).size > 1 };
  });
  const shown = rows.filter((r) => r.differs || showSame);
  return (
    <>
      <label>
        <input type="checkbox" checked={showSame} onChange={() => setShowSame(!showSame)} /> also show the{' '}
        {rows.length - rows.filter((r) => r.differs).length} parameter(s) that are the same
      </label>
      <table class="data param-diff">
        <thead>
          <tr>
            <th>Parameter</th>
            {props.runs.map((r) => (
              <th key={r.info.run_id}>
                <a href={href('runs', r.info.run_id)}>{runLabel(r)}</a>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => (
            <tr key={row.k} class={row.differs ? 'differs' : ''}>
              <th>{row.k}</th>
              {row.values.map((v, i) => (
                <td key={props.runs[i]?.info.run_id}>{v ?? '—'}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** A parameter against a metric, one point per run: numbers on a number axis, text by category. */
function Scatter(props: { runs: Run[] }) {
  const params = [...new Set(props.runs.flatMap((r) => (r.data.params ?? []).map((p) => p.key)))].sort();
  const metrics = [...new Set(props.runs.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))].sort();
  const [param, setParam] = useState(params[0] ?? '');
  const [metric, setMetric] = useState(metrics[0] ?? '');
  const points = props.runs
    .map((r) => ({
      x: r.data.params?.find((p) => p.key === param)?.value,
      y: metricNumber(r.data.metrics?.find((m) => m.key === metric)?.value),
    }))
    .filter((p): p is { x: string; y: number } => p.x !== undefined && Number.isFinite(p.y));
  const numeric = points.every((p) => p.x.trim() !== '' && Number.isFinite(Number(p.x)));
  const categories = [...new Set(points.map((p) => p.x))].sort();
  const xy = points
    .map((p) => ({ x: numeric ? Number(p.x) : categories.indexOf(p.x), y: p.y }))
    .sort((a, b) => a.x - b.x);
  const data = useMemo(
    () => [xy.map((p) => p.x), xy.map((p) => p.y)] as uPlot.AlignedData,
    [param, metric, props.runs],
  );
  const options = useMemo(
    () => ({
      title: `${metric} against ${param}`,
      height: 260,
      mode: 1 as const,
      scales: { x: { time: false } },
      axes: [
        numeric ? {} : { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => categories[t] ?? '') },
        {},
      ],
      series: [
        { label: param },
        {
          label: metric,
          stroke: colour(0),
          paths: () => null,
          points: { show: true, size: 9, fill: colour(0) },
        },
      ],
    }),
    [param, metric, props.runs],
  );
  if (!params.length || !metrics.length)
    return <p class="muted">The runs have no parameter or no metric to plot.</p>;
  return (
    <div class="card">
      <label>
        parameter{' '}
        <select value={param} onChange={(e) => setParam((e.target as HTMLSelectElement).value)}>
          {params.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>{' '}
      <label>
        metric{' '}
        <select value={metric} onChange={(e) => setMetric((e.target as HTMLSelectElement).value)}>
          {metrics.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      {xy.length ? (
        <Chart label={`${metric} against ${param}`} data={data} options={options} />
      ) : (
        <p class="muted">No run has both.</p>
      )}
    </div>
  );
}

/** Runs side by side: metric curves per step overlaid, the parameter diff, a scatter. */
export function ComparePage(props: { runIds: string[] }) {
  const loaded = useAsync(() => loadComparison(props.runIds), [props.runIds.join(',')]);
  if (props.runIds.length < 2) {
    return <p class="note">Select two runs or more in a runs table and press Compare.</p>;
  }
  return (
    <section>
      <h1>Comparing {props.runIds.length} runs</h1>
      <Show loaded={loaded}>
        {({ runs, curves }) => {
          const stepped = [...curves].filter(([, per]) => per.some((h) => h.length > 1));
          const finals = [...curves].filter(([, per]) => !per.some((h) => h.length > 1));
          return (
            <>
              <h2>Metric curves</h2>
              {stepped.length ? (
                <div class="grid2">
                  {stepped.map(([k, per]) => (
                    <CurveChart key={k} metric={k} runs={runs} per={per} />
                  ))}
                </div>
              ) : (
                <p class="muted">No metric was logged at more than one step.</p>
              )}
              {finals.length ? (
                <table class="data">
                  <thead>
                    <tr>
                      <th>Metric</th>
                      {runs.map((r) => (
                        <th key={r.info.run_id}>{runLabel(r)}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {finals.map(([k, per]) => (
                      <tr key={k}>
                        <th>{k}</th>
                        {per.map((h, i) => (
                          <td class="num" key={runs[i]?.info.run_id}>
                            {fmtNum(h[h.length - 1]?.value)}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : null}
              <h2>Parameters that differ</h2>
              <ParamDiff runs={runs} />
              <h2>Parameter against metric</h2>
              <Scatter runs={runs} />
            </>
          );
        }}
      </Show>
    </section>
  );
}
