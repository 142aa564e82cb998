import { searchModels } from '../api/registry';
import { Show, useAsync } from './async';

/** Registered models as links to `<base>/<name>` (or `<base>?model=<name>`). */
export function ModelPicker(props: { link: (name: string) => string; current?: string }) {
  const models = useAsync(searchModels, []);
  return (
    <Show loaded={models}>
      {(list) =>
        list.length === 0 ? (
          <p class="muted">No registered model yet.</p>
        ) : (
          <p>
            Model:{' '}
            {list.map((m) => (
              <a
                key={m.name}
                href={props.link(m.name)}
                class={`badge ${m.name === props.current ? 'good' : ''}`}
              >
                {m.name}
              </a>
            ))}
          </p>
        )
      }
    </Show>
  );
}
