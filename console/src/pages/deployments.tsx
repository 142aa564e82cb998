import { ApiError } from '../api/http';
import {
  type DeploymentRecord,
  type DeploymentStatus,
  deploymentStatus,
  searchModels,
} from '../api/registry';
import { fmtTime, Show, useAsync } from '../components/async';
import { href } from '../router';

interface TimelineEvent {
  at: string;
  version: string;
  kind: 'started' | 'step' | 'ready' | 'promoted' | 'rolled_back' | 'refused';
  text: string;
}

/** A deployment record's moments: start, each traffic step (`10%@<time>`), then how it ended. */
export function timeline(records: DeploymentRecord[]): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  for (const r of records) {
    const v = r.version;
    if (r.started_at)
      events.push({
        at: r.started_at,
        version: v,
        kind: 'started',
        text: `canary of v${v} started (Lambda version ${r.lambda_version ?? '?'}, from ${r.previous_lambda_version ?? '?'})`,
      });
    if (r.ready_at)
      events.push({ at: r.ready_at, version: v, kind: 'ready', text: `v${v} passed the readiness gate` });
    for (const step of (r.steps ?? '').split(',').filter(Boolean)) {
      const [percent, at] = step.split('@');
      if (at) events.push({ at, version: v, kind: 'step', text: `v${v} takes ${percent} of traffic` });
    }
    if (r.promoted_at)
      events.push({ at: r.promoted_at, version: v, kind: 'promoted', text: `v${v} is live (100%)` });
    if (r.refused_at)
      events.push({
        at: r.refused_at,
        version: v,
        kind: 'refused',
        text: `v${v} refused: ${r.refusal_reason ?? ''}`,
      });
    if (r.rolled_back_at) {
      events.push({
        at: r.rolled_back_at,
        version: v,
        kind: 'rolled_back',
        text: `v${v} rolled back: ${r.rollback_reason ?? ''}`,
      });
    }
  }
  return events.sort((a, b) => a.at.localeCompare(b.at));
}

function Status(props: { status: DeploymentStatus }) {
  const { live, deployments } = props.status;
  const events = timeline(deployments);
  const weights = Object.entries(live.weights);
  const primaryShare = 1 - weights.reduce((s, [, w]) => s + w, 0);
  const versionOf = (lambdaVersion: string) =>
    deployments.find((d) => d.lambda_version === lambdaVersion)?.version ??
    (lambdaVersion === live.lambda_version ? live.model_version : undefined);
  return (
    <>
      <div class="card">
        <h2>Serving now</h2>
        <table class="data weights">
          <thead>
            <tr>
              <th>Lambda version</th>
              <th>Model version</th>
              <th class="num">Traffic</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>{live.lambda_version}</td>
              <td>{live.model_version ? `v${live.model_version}` : '—'}</td>
              <td class="num">{(primaryShare * 100).toFixed(0)}%</td>
            </tr>
            {weights.map(([lv, w]) => (
              <tr key={lv}>
                <td>{lv}</td>
                <td>{versionOf(lv) ? `v${versionOf(lv)}` : '—'}</td>
                <td class="num">{(w * 100).toFixed(0)}%</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="card">
        <h2>Timeline</h2>
        {events.length === 0 ? (
          <p class="muted">No deployment recorded.</p>
        ) : (
          <ul class="timeline" aria-label="deployment timeline">
            {events.map((e) => (
              <li
                key={`${e.at}-${e.kind}-${e.version}`}
                class={e.kind === 'rolled_back' ? 'rollback' : e.kind}
                data-kind={e.kind}
              >
                <span class="muted">{fmtTime(Date.parse(e.at))}</span> {e.text}
              </li>
            ))}
          </ul>
        )}
      </div>
      <h2>Deployments</h2>
      <table class="data">
        <thead>
          <tr>
            <th>Version</th>
            <th>Status</th>
            <th class="num">Traffic</th>
            <th>Started</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {deployments.map((d) => (
            <tr key={d.version} class={d.status === 'rolled_back' ? 'drifted' : ''}>
              <td>v{d.version}</td>
              <td>{d.status}</td>
              <td class="num">{d.traffic ?? ''}%</td>
              <td>{d.started_at ? fmtTime(Date.parse(d.started_at)) : ''}</td>
              <td>{d.rollback_reason ?? d.refusal_reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ModelDeployment(props: { model: string }) {
  const loaded = useAsync(
    () =>
      deploymentStatus(props.model).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return e;
        throw e;
      }),
    [props.model],
  );
  return (
    <section>
      <h1>Deployment of {props.model}</h1>
      <Show loaded={loaded}>
        {(s) => (s instanceof ApiError ? <p class="note">{s.message}</p> : <Status status={s} />)}
      </Show>
    </section>
  );
}

/** Which version serves, the alias weights, and each canary's steps and rollbacks over time. */
export function DeploymentsPage(props: { model?: string }) {
  const models = useAsync(searchModels, []);
  if (props.model) return <ModelDeployment model={props.model} />;
  return (
    <section>
      <h1>Deployments</h1>
      <p class="muted">The platform serves one model through its live alias; pick it:</p>
      <Show loaded={models}>
        {(list) => (
          <ul>
            {list.map((m) => (
              <li key={m.name}>
                <a href={href('deployments', m.name)}>{m.name}</a>
              </li>
            ))}
          </ul>
        )}
      </Show>
    </section>
  );
}
