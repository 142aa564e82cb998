import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { metricNumber, type Run, searchRuns } from '../api/tracking';
import { ErrorNote, fmtNum, fmtTime } from '../components/async';
import { VirtualRows } from '../components/virtual-rows';
import { href, navigate } from '../router';

/**
 * The first page fills the table's box (60% of the window, 28 px rows: 50 rows fill a window
 * 2,300 px tall) with half the runs for the API to read and send of a page of 100; later pages
 * are larger, fewer calls.
 */
const FIRST_PAGE = 50;
const PAGE = 500;
/** Metric and param columns shown: the first ones found in the loaded runs. */
const MAX_KEY_COLUMNS = 8;

interface Column {
  id: string;
  label: string;
  /** The `order_by` term of runs/search for this column. */
  orderKey: string;
  width: number;
  value: (r: Run) => string;
  numeric?: boolean;
}

const quoteKey = (k: string) => `\`${k.replace(/`/g, '')}\``;

function columnsFor(runs: Run[]): Column[] {
  const metrics = new Set<string>();
  const params = new Set<string>();
  for (const r of runs.slice(0, 200)) {
    for (const m of r.data.metrics ?? []) if (metrics.size < MAX_KEY_COLUMNS) metrics.add(m.key);
    for (const p of r.data.params ?? []) if (params.size < MAX_KEY_COLUMNS) params.add(p.key);
  }
  return [
    {
      id: 'name',
      label: 'Run',
      orderKey: 'attributes.run_name',
      width: 200,
      value: (r) => r.info.run_name || r.info.run_id,
    },
    { id: 'status', label: 'Status', orderKey: 'attributes.status', width: 90, value: (r) => r.info.status },
    {
      id: 'start',
      label: 'Started',
      orderKey: 'attributes.start_time',
      width: 160,
      value: (r) => fmtTime(r.info.start_time),
    },
    ...[...metrics].map((k) => ({
      id: `m:${k}`,
      label: k,
      orderKey: `metrics.${quoteKey(k)}`,
      width: 110,
      numeric: true,
      value: (r: Run) => fmtNum(metricNumber(r.data.metrics?.find((m) => m.key === k)?.value)),
    })),
    ...[...params].map((k) => ({
      id: `p:${k}`,
      label: k,
      orderKey: `params.${quoteKey(k)}`,
      width: 110,
      value: (r: Run) => r.data.params?.find((p) => p.key === k)?.value ?? '',
    })),
  ];
}

interface State {
  runs: Run[];
  next?: string;
  loading: boolean;
  error?: Error;
}

/**
 * One experiment's runs: the filter and the sort go to runs/search as they are (the API
 * parses MLflow's grammar), a first page of 50 then pages of 500 load as the table scrolls,
 * and only the rows in view are in the DOM.
 */
export function RunsPage(props: { experimentId: string; query: URLSearchParams }) {
  const filter = props.query.get('filter') ?? '';
  const order = props.query.get('order') ?? 'attributes.start_time DESC';
  const [draft, setDraft] = useState(filter);
  const [state, setState] = useState<State>({ runs: [], loading: true });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const generation = useRef(0);
  const firstRender = useRef(false);

  useEffect(() => setDraft(filter), [filter]);

  const load = useCallback(
    (pageToken: string | undefined, runs: Run[]) => {
      const g = generation.current;
      setState({ runs, next: pageToken, loading: true });
      searchRuns({
        experimentIds: [props.experimentId],
        filter,
        orderBy: [order],
        maxResults: pageToken ? PAGE : FIRST_PAGE,
        pageToken,
      }).then(
        (r) => {
          if (g !== generation.current) return;
          if (!pageToken) performance.mark('runs-first-page-received');
          setState({ runs: [...runs, ...(r.runs ?? [])], next: r.next_page_token, loading: false });
        },
        (error: Error) => g === generation.current && setState({ runs, loading: false, error }),
      );
    },
    [props.experimentId, filter, order],
  );

  // A layout effect: the search starts before the empty page is painted, not a frame later.
  useLayoutEffect(() => {
    generation.current++;
    firstRender.current = false;
    performance.mark('runs-page-start');
    load(undefined, []);
  }, [load]);

  useLayoutEffect(() => {
    // Marked in the browser for the scale test: the first rows are painted in the frame after
    // this commit; a task queued from that frame's animation callback runs once it is painted.
    if (firstRender.current || state.loading || !state.runs.length) return;
    firstRender.current = true;
    requestAnimationFrame(() => setTimeout(() => performance.mark('runs-table-painted'), 0));
  }, [state]);

  const columns = useMemo(() => columnsFor(state.runs), [state.runs.length > 0 ? state.runs[0] : undefined]);
  const template = `36px ${columns.map((c) => `${c.width}px`).join(' ')}`;

  const setQuery = (next: { filter?: string; order?: string }) => {
    const q = new URLSearchParams();
    const f = next.filter ?? filter;
    const o = next.order ?? order;
    if (f) q.set('filter', f);
    if (o !== 'attributes.start_time DESC') q.set('order', o);
    navigate(`${href('experiments', props.experimentId)}${q.size ? `?${q}` : ''}`);
  };

  const sortBy = (c: Column) => {
    const [key, dir] = order.split(/ (?=ASC$|DESC$)/);
    setQuery({ order: `${c.orderKey} ${key === c.orderKey && dir === 'DESC' ? 'ASC' : 'DESC'}` });
  };

  const onRange = useCallback(
    (last: number) => {
      // Within a screen of the end (the virtualizer renders 12 rows past the view): a first
      // page that fills the view does not fetch the next one while the table first shows.
      if (!state.loading && state.next && last >= state.runs.length - 15) load(state.next, state.runs);
    },
    [state, load],
  );

  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };

  const [orderKey, orderDir] = order.split(/ (?=ASC$|DESC$)/);
  return (
    <section>
      <h1>
        Runs of experiment {props.experimentId}{' '}
        <span class="muted" data-testid="runs-count">
          {state.runs.length}
          {state.next ? '+' : ''} run(s)
        </span>
      </h1>
      <form
        class="filter"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ filter: draft.trim() });
        }}
      >
        <input
          name="filter"
          aria-label="Filter (MLflow search syntax)"
          placeholder={"metrics.auc > 0.8 and params.algorithm = 'gbdt'"}
          value={draft}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        />
        <button class="primary" type="submit">
          Search
        </button>
        <button
          type="button"
          disabled={selected.size < 2}
          onClick={() => navigate(`#/compare?runs=${[...selected].map(encodeURIComponent).join(',')}`)}
        >
          Compare {selected.size || ''}
        </button>
      </form>
      {state.error ? <ErrorNote error={state.error} /> : null}
      {!state.loading && !state.error && state.runs.length === 0 ? (
        <p class="muted">No run matches.</p>
      ) : null}
      <VirtualRows
        label="runs"
        count={state.runs.length}
        onRange={onRange}
        header={
          <div class="vt-head" style={{ gridTemplateColumns: template }}>
            <div />
            {columns.map((c) => (
              <div key={c.id} class={c.numeric ? 'num' : ''}>
                <button
                  type="button"
                  class="sort"
                  title={`sort by ${c.orderKey}`}
                  data-sorted={orderKey === c.orderKey ? orderDir : undefined}
                  onClick={() => sortBy(c)}
                >
                  {c.label}
                  {orderKey === c.orderKey ? (orderDir === 'ASC' ? ' ▲' : ' ▼') : ''}
                </button>
              </div>
            ))}
          </div>
        }
        row={(index, item) => {
          const run = state.runs[index] as Run;
          return (
            <div
              key={run.info.run_id}
              class="vt-row runs-row"
              data-run-id={run.info.run_id}
              style={{ top: `${item.start}px`, gridTemplateColumns: template }}
            >
              <div>
                <input
                  type="checkbox"
                  aria-label={`select ${run.info.run_name}`}
                  checked={selected.has(run.info.run_id)}
                  onChange={() => toggle(run.info.run_id)}
                />
              </div>
              {columns.map((c, i) =>
                i === 0 ? (
                  <div key={c.id}>
                    <a href={href('runs', run.info.run_id)}>{c.value(run)}</a>
                  </div>
                ) : (
                  <div key={c.id} class={c.numeric ? 'num' : ''}>
                    {c.value(run)}
                  </div>
                ),
              )}
            </div>
          );
        }}
      />
      {state.loading ? <p class="muted">Loading…</p> : null}
    </section>
  );
}
