import { searchExperiments } from '../api/tracking';
import { fmtTime, Show, useAsync } from '../components/async';
import { href } from '../router';

/** The MLflow experiments; each opens its runs table. */
export function ExperimentsPage() {
  const loaded = useAsync(searchExperiments, []);
  return (
    <section>
      <h1>Experiments</h1>
      <Show loaded={loaded}>
        {(experiments) =>
          experiments.length === 0 ? (
            <p class="muted">No experiments yet: a training run creates one.</p>
          ) : (
            <table class="data">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Id</th>
                  <th>Created</th>
                  <th>Updated</th>
                </tr>
              </thead>
              <tbody>
                {experiments.map((e) => (
                  <tr key={e.experiment_id}>
                    <td>
                      <a href={href('experiments', e.experiment_id)}>{e.name}</a>
                    </td>
                    <td>{e.experiment_id}</td>
                    <td>{fmtTime(e.creation_time)}</td>
                    <td>{fmtTime(e.last_update_time)}</td>
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
