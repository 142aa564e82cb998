import { useMemo } from 'preact/hooks';
import {
  type ArtifactFile,
  artifactPath,
  getRun,
  listArtifacts,
  metricHistory,
  metricNumber,
  type Run,
} from '../api/tracking';
import { ArtifactPreview, isImage, isText } from '../components/artifact';
import { fmtNum, fmtTime, Show, useAsync } from '../components/async';
import { Chart, colour } from '../components/chart';
import { href } from '../router';

/** Every file under the run's artifact root, directories walked (bounded: 500 files). */
async function allArtifacts(runId: string): Promise<ArtifactFile[]> {
  const out: ArtifactFile[] = [];
  const queue: (string | undefined)[] = [undefined];
  while (queue.length && out.length < 500) {
    const dir = queue.shift();
    for (const f of await listArtifacts(runId, dir)) {
      if (f.is_dir) queue.push(f.path);
      else out.push(f);
    }
  }
  return out;
}

function MetricCurves(props: { run: Run }) {
  const keys = (props.run.data.metrics ?? []).map((m) => m.key).sort();
  const loaded = useAsync(
    () => Promise.all(keys.map(async (k) => [k, await metricHistory(props.run.info.run_id, k)] as const)),
    [props.run.info.run_id],
  );
  return (
    <Show loaded={loaded}>
      {(histories) => {
        const stepped = histories.filter(([, h]) => h.length > 1);
        if (!stepped.length) return <p class="muted">No metric was logged at more than one step.</p>;
        return (
          <div class="grid2">
            {stepped.map(([k, h]) => (
              <Curve
                key={k}
                metric={k}
                steps={h.map((m) => m.step)}
                values={h.map((m) => metricNumber(m.value))}
              />
            ))}
          </div>
        );
      }}
    </Show>
  );
}

function Curve(props: { metric: string; steps: number[]; values: number[] }) {
  const data = useMemo(
    () => [props.steps, props.values] as [number[], number[]],
    [props.steps, props.values],
  );
  const options = useMemo(
    () => ({
      title: props.metric,
      height: 220,
      scales: { x: { time: false } },
      series: [{ label: 'step' }, { label: props.metric, stroke: colour(0), width: 2 }],
    }),
    [props.metric],
  );
  return <Chart label={`${props.metric} by step`} data={data} options={options} />;
}

/** A run: its params, metrics (curves by step), tags and artifacts, images inline. */
export function RunPage(props: { runId: string }) {
  const run = useAsync(() => getRun(props.runId), [props.runId]);
  const files = useAsync(() => allArtifacts(props.runId), [props.runId]);
  return (
    <Show loaded={run}>
      {(r) => (
        <section>
          <h1>
            Run {r.info.run_name || r.info.run_id} <span class="badge">{r.info.status}</span>
          </h1>
          <p class="muted">
            {r.info.run_id} · experiment{' '}
            <a href={href('experiments', r.info.experiment_id)}>{r.info.experiment_id}</a> · started{' '}
            {fmtTime(r.info.start_time)}
            {r.info.end_time ? ` · ended ${fmtTime(r.info.end_time)}` : ''}
          </p>
          <div class="grid2">
            <div class="card">
              <h2>Parameters</h2>
              <KeyValues rows={(r.data.params ?? []).map((p) => [p.key, p.value])} />
            </div>
            <div class="card">
              <h2>Metrics (latest)</h2>
              <KeyValues
                rows={(r.data.metrics ?? []).map((m) => [m.key, fmtNum(metricNumber(m.value))])}
                numeric
              />
            </div>
          </div>
          <h2>Metric curves</h2>
          <MetricCurves run={r} />
          <div class="card">
            <h2>Tags</h2>
            <KeyValues
              rows={(r.data.tags ?? [])
                .filter((t) => !t.key.startsWith('mlflow.log-model'))
                .map((t) => [t.key, t.value])}
            />
          </div>
          <h2>Artifacts</h2>
          <Show loaded={files}>
            {(list) =>
              list.length === 0 ? (
                <p class="muted">No artifacts.</p>
              ) : (
                <>
                  <table class="data">
                    <tbody>
                      {list.map((f) => (
                        <tr key={f.path}>
                          <td>{f.path}</td>
                          <td class="num">{f.file_size ?? ''} B</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  {list
                    .filter((f) => isImage(f.path) || (isText(f.path) && (f.file_size ?? 0) < 20_000))
                    .slice(0, 12)
                    .map((f) => (
                      <div class="card" key={f.path}>
                        <h2>{f.path}</h2>
                        <ArtifactPreview url={artifactPath(r.info.artifact_uri, f.path)} path={f.path} />
                      </div>
                    ))}
                </>
              )
            }
          </Show>
        </section>
      )}
    </Show>
  );
}

function KeyValues(props: { rows: [string, string][]; numeric?: boolean }) {
  if (!props.rows.length) return <p class="muted">None.</p>;
  return (
    <table class="kv">
      <tbody>
        {props.rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td class={props.numeric ? 'num' : ''}>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
