import { type FeatureRegistry, featureRegistry } from '../api/features';
import { ApiError } from '../api/http';
import { fmtTime, Show, useAsync } from '../components/async';

/** How long ago, in words a person scans: "3 h ago". */
function age(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (s < 120) return `${Math.round(s)} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

function Registry(props: { r: FeatureRegistry }) {
  const { definitions: d, materialization } = props.r;
  const fresh = new Map(materialization.map((m) => [m.view, m]));
  return (
    <>
      <p class="muted">
        Registry version {props.r.serial}, applied {fmtTime(Date.parse(props.r.applied_at))}
      </p>
      <h2>Entities</h2>
      <table class="data entities">
        <thead>
          <tr>
            <th>Entity</th>
            <th>Join keys</th>
            <th>Description</th>
          </tr>
        </thead>
        <tbody>
          {d.entities.map((e) => (
            <tr key={e.name}>
              <td>{e.name}</td>
              <td>{e.joinKeys.map((k) => `${k.name} (${k.type})`).join(', ')}</td>
              <td>{e.description ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Feature views and materialization freshness</h2>
      <table class="data views">
        <thead>
          <tr>
            <th>View</th>
            <th>Entities</th>
            <th>Source</th>
            <th>Features</th>
            <th>TTL</th>
            <th>Online up to</th>
            <th>Newest event online</th>
          </tr>
        </thead>
        <tbody>
          {d.featureViews.map((v) => {
            const m = fresh.get(v.name);
            return (
              <tr key={v.name} data-view={v.name}>
                <td>{v.name}</td>
                <td>{v.entities.join(', ')}</td>
                <td>{v.source}</td>
                <td>
                  {[
                    ...v.features.map((f) => f.name),
                    ...v.aggregations.map((a) => `${a.name} (${a.function}, ${a.window})`),
                  ].join(', ')}
                </td>
                <td>{v.ttl === undefined || Number(v.ttl) === 0 ? '∞' : v.ttl}</td>
                <td class="freshness" title={m?.materialized_until ?? ''}>
                  {age(m?.materialized_until ?? null)}
                  {m?.running ? <span class="badge">running</span> : null}
                </td>
                <td title={m?.newest_event ?? ''}>
                  {m?.newest_event ? fmtTime(Date.parse(m.newest_event)) : '—'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {d.onDemandFeatureViews.length ? (
        <>
          <h2>On-demand views</h2>
          <ul>
            {d.onDemandFeatureViews.map((v) => (
              <li key={v.name}>
                {v.name}: {v.schema.map((f) => f.name).join(', ')}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h2>Feature services</h2>
      <table class="data services">
        <thead>
          <tr>
            <th>Service</th>
            <th>Features</th>
          </tr>
        </thead>
        <tbody>
          {d.featureServices.map((s) => (
            <tr key={s.name}>
              <td>{s.name}</td>
              <td>{s.features.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Entities, views, services and materialization freshness, from GET /features/registry. */
export function FeaturesPage() {
  const loaded = useAsync(
    () =>
      featureRegistry().catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return e;
        throw e;
      }),
    [],
  );
  return (
    <section>
      <h1>Feature registry</h1>
      <Show loaded={loaded}>
        {(r) => (r instanceof ApiError ? <p class="note">{r.message}</p> : <Registry r={r} />)}
      </Show>
    </section>
  );
}
