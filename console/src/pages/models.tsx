import { getModel, modelChanges, modelVersions, searchModels } from '../api/registry';
import { fmtTime, Show, useAsync } from '../components/async';
import { href } from '../router';

function ModelList() {
  const loaded = useAsync(searchModels, []);
  return (
    <section>
      <h1>Model registry</h1>
      <Show loaded={loaded}>
        {(models) =>
          models.length === 0 ? (
            <p class="muted">No registered model yet.</p>
          ) : (
            <table class="data">
              <thead>
                <tr>
                  <th>Model</th>
                  <th>Latest versions</th>
                  <th>Aliases</th>
                  <th>Updated</th>
                </tr>
              </thead>
              <tbody>
                {models.map((m) => (
                  <tr key={m.name}>
                    <td>
                      <a href={href('models', m.name)}>{m.name}</a>
                    </td>
                    <td>
                      {(m.latest_versions ?? []).map((v) => (
                        <span class="badge" key={v.version}>
                          v{v.version} {v.current_stage}
                        </span>
                      ))}
                    </td>
                    <td>
                      {(m.aliases ?? []).map((a) => (
                        <span class="badge" key={a.alias}>
                          @{a.alias} → v{a.version}
                        </span>
                      ))}
                    </td>
                    <td>{fmtTime(m.last_updated_timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}

function ModelDetail(props: { name: string }) {
  const loaded = useAsync(async () => {
    const [model, versions, changes] = await Promise.all([
      getModel(props.name),
      modelVersions(props.name),
      modelChanges(props.name),
    ]);
    return { model, versions, changes };
  }, [props.name]);
  return (
    <Show loaded={loaded}>
      {({ model, versions, changes }) => {
        // Version search leaves aliases out (as MLflow's does); the model lists them all.
        const aliasesOf = (version: string) =>
          (model.aliases ?? []).filter((a) => a.version === version).map((a) => `@${a.alias}`);
        return (
          <section>
            <h1>
              {model.name}{' '}
              {(model.aliases ?? []).map((a) => (
                <span class="badge" key={a.alias}>
                  @{a.alias} → v{a.version}
                </span>
              ))}
            </h1>
            {model.description ? <p>{model.description}</p> : null}
            <p>
              <a href={href('deployments', model.name)}>Deployment</a> ·{' '}
              <a href={`#/ab?model=${encodeURIComponent(model.name)}`}>A/B tests and shadow</a> ·{' '}
              <a href={href('monitoring', model.name)}>Monitoring</a>
            </p>
            <h2>Versions</h2>
            <table class="data versions">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Stage</th>
                  <th>Aliases</th>
                  <th>Status</th>
                  <th>Run</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v.version}>
                    <td>v{v.version}</td>
                    <td>
                      <span class={`badge ${v.current_stage === 'Production' ? 'good' : ''}`}>
                        {v.current_stage}
                      </span>
                    </td>
                    <td>{aliasesOf(v.version).join(' ')}</td>
                    <td title={v.status_message}>{v.status}</td>
                    <td>{v.run_id ? <a href={href('runs', v.run_id)}>{v.run_id.slice(0, 12)}</a> : ''}</td>
                    <td>{fmtTime(v.creation_timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>Transition history</h2>
            {changes.length === 0 ? (
              <p class="muted">No stage transition or alias change recorded.</p>
            ) : (
              <table class="data transitions">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Change</th>
                    <th>Version</th>
                    <th>From</th>
                    <th>To</th>
                    <th>By</th>
                  </tr>
                </thead>
                <tbody>
                  {changes.map((c) => (
                    <tr key={`${c.timestamp}-${c.kind}-${c.version}-${c.alias ?? ''}`}>
                      <td>{fmtTime(c.timestamp)}</td>
                      <td>{c.alias ? `${c.kind} @${c.alias}` : c.kind}</td>
                      <td>v{c.version}</td>
                      <td>{c.from || '—'}</td>
                      <td>{c.to || '—'}</td>
                      <td>{c.user_id}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        );
      }}
    </Show>
  );
}

/** Registered models; one model's versions, stages, aliases and transition history. */
export function ModelsPage(props: { name?: string }) {
  return props.name ? <ModelDetail name={props.name} /> : <ModelList />;
}
