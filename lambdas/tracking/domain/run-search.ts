import { InvalidParameterError } from '../../platform/errors';
import type { PrefilterClause, TrackingStore } from '../store/tracking-store';
import { type Clause, matches, parseFilter, RUN_ATTRIBUTES, type Searchable } from './filter';
import type { RunRecord, ViewType } from './model';
import { comparatorFor, type OrderTerm, parseOrderBy } from './order-by';
import { decodePageToken, encodePageToken, queryFingerprint } from './page-token';
import { LIMITS } from './validation';

export interface RunSearchRequest {
  experiment_ids?: string[];
  filter?: string;
  run_view_type?: ViewType;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}

/** A run seen through the filter's lookups. */
export function searchableRun(run: RunRecord): Searchable {
  return {
    metric: (k) => run.metrics[k]?.value,
    param: (k) => run.params[k],
    tag: (k) => run.tags[k],
    attribute: (k) => (run.info as unknown as Record<string, string | number | undefined>)[k],
  };
}

/**
 * The part of a filter the store can apply while it reads (`PrefilterClause`), so fewer
 * runs cross the wire: `>`, `>=`, `<` and `<=` on metrics and numeric attributes, `=` and
 * `!=` on params, tags and string attributes, and the lifecycle of the run view. Each is
 * one the store evaluates as `matches` does or more loosely, never more strictly; every
 * returned run is still checked in full here. Number equality stays here (dynalite does not
 * match a stored metric with `=`), and so do LIKE, ILIKE and IN.
 */
function prefilterOf(clauses: readonly Clause[], view: string): PrefilterClause[] {
  const out: PrefilterClause[] = [];
  if (view === 'ACTIVE_ONLY' || view === 'DELETED_ONLY') {
    const stage = view === 'ACTIVE_ONLY' ? 'active' : 'deleted';
    out.push({ field: { kind: 'attribute', key: 'lifecycle_stage' }, op: '=', value: stage });
  }
  for (const c of clauses) {
    const ordered = c.op === '>' || c.op === '>=' || c.op === '<' || c.op === '<=';
    const equality = c.op === '=' || c.op === '!=';
    const { value } = c;
    const pushable =
      (typeof value === 'number' && ordered) || (typeof value === 'string' && equality) ? value : undefined;
    if (pushable !== undefined)
      out.push({ field: { kind: c.type, key: c.key }, op: c.op as PrefilterClause['op'], value: pushable });
  }
  return out;
}

/** True when the order is the index's own: start time descending (the default). */
function isIndexOrder(order: readonly OrderTerm[]): boolean {
  if (order.length === 0) return true;
  const [first] = order;
  return order.length === 1 && first?.type === 'attribute' && first.key === 'start_time' && !first.ascending;
}

interface Cursor {
  readonly experimentId: string;
  buffer: { run: RunRecord; position: string }[];
  after?: string;
  done: boolean;
}

/** How long one `runs/search` request may work before it answers (see RunSearch). */
export const SEARCH_BUDGET_MS = 5000;

/** Longest stretch of in-memory filtering before other requests get the event loop. */
const SLICE_MS = 20;

const yieldToOthers = () => new Promise<void>((r) => setImmediate(r));

/**
 * `runs/search`. With the default order (start time descending) it walks each
 * experiment's index partition in order, filtering in memory and stopping as soon as the
 * page is full, so a page costs about the runs it had to look at; other orders read the
 * experiments' runs once, then sort. Page tokens carry the index position or an offset.
 *
 * One request's work is bounded: filtering yields the event loop every 20 ms, so requests
 * sharing the process keep moving, and after `budgetMs` an index-ordered search answers
 * the runs it has so far with a `next_page_token` to continue from (a short page, as MLflow
 * clients already handle); a sorted search, which cannot answer part of its order, fails
 * with INVALID_PARAMETER_VALUE when filtering alone has used the budget.
 */
export class RunSearch {
  constructor(
    private readonly store: TrackingStore,
    private readonly options: { readonly budgetMs?: number } = {},
  ) {}

  async search(req: RunSearchRequest): Promise<{ runs: RunRecord[]; next_page_token?: string }> {
    const max = req.max_results ?? 1000;
    if (!Number.isInteger(max) || max < 1 || max > LIMITS.maxSearchResults) {
      throw new InvalidParameterError(
        `Invalid value ${max} for parameter 'max_results' supplied. It must be at most ${LIMITS.maxSearchResults} and at least 1.`,
      );
    }
    const clauses = parseFilter(req.filter, RUN_ATTRIBUTES);
    const order = parseOrderBy(req.order_by, RUN_ATTRIBUTES);
    const experimentIds = [...new Set(req.experiment_ids ?? [])].sort();
    const view = req.run_view_type ?? 'ACTIVE_ONLY';
    const fp = queryFingerprint(['runs', experimentIds, req.filter ?? '', req.order_by ?? [], view]);
    const pos = decodePageToken(req.page_token, fp);
    const prefilter = prefilterOf(clauses, view);
    const budget = this.options.budgetMs ?? SEARCH_BUDGET_MS;
    const started = performance.now();
    let sliceStart = started;
    let filteringMs = 0;
    /** Filters one run, handing the event loop to other requests between 20 ms slices. */
    const keep = async (r: RunRecord): Promise<boolean> => {
      const t0 = performance.now();
      const ok =
        (view === 'ALL' || (view === 'ACTIVE_ONLY') === (r.info.lifecycle_stage === 'active')) &&
        matches(clauses, searchableRun(r));
      const t1 = performance.now();
      filteringMs += t1 - t0;
      if (t1 - sliceStart > SLICE_MS) {
        await yieldToOthers();
        sliceStart = performance.now();
      }
      return ok;
    };

    if (isIndexOrder(order)) {
      const cursors: Cursor[] = experimentIds.map((experimentId) => ({
        experimentId,
        buffer: [],
        after: pos?.after,
        done: false,
      }));
      const out: RunRecord[] = [];
      let lastPosition: string | undefined;
      let exhausted = false;
      while (out.length < max) {
        // Refill empty buffers; the read size grows with what is still missing. A page the
        // store filtered down to nothing is read past, so the merge below sees every head.
        const need = max - out.length;
        let empty = cursors.filter((c) => c.buffer.length === 0 && !c.done);
        while (empty.length > 0) {
          await Promise.all(
            empty.map(async (c) => {
              const page = await this.store.scanRuns(c.experimentId, {
                after: c.after,
                limit: Math.min(1000, Math.max(25, need * 2)),
                prefilter,
              });
              c.buffer = page.runs;
              c.done = page.done;
              // Read up to `last` even when the store filtered out the runs there.
              const last = page.last ?? page.runs[page.runs.length - 1]?.position;
              if (!page.done && (last === undefined || last === c.after))
                throw new Error(`runs/search: the store did not move past position ${c.after}`);
              if (last) c.after = last;
            }),
          );
          empty = empty.filter((c) => c.buffer.length === 0 && !c.done);
        }
        // Take the highest position among the cursors' heads.
        let best: Cursor | undefined;
        for (const c of cursors) {
          const head = c.buffer[0];
          if (head && (!best || head.position > (best.buffer[0]?.position ?? ''))) best = c;
        }
        if (!best) {
          exhausted = true;
          break;
        }
        const head = best.buffer.shift() as { run: RunRecord; position: string };
        lastPosition = head.position;
        if (await keep(head.run)) out.push(head.run);
        // Out of budget: answer what is found, resuming after the last run looked at.
        if (out.length < max && performance.now() - started > budget) break;
      }
      const more = !exhausted && !cursors.every((c) => c.done && c.buffer.length === 0);
      return {
        runs: out,
        next_page_token: more && lastPosition ? encodePageToken({ after: lastPosition }, fp) : undefined,
      };
    }

    const all: { run: RunRecord; s: Searchable }[] = [];
    for (const id of experimentIds) {
      let after: string | undefined;
      for (;;) {
        const page = await this.store.scanRuns(id, { after, limit: 1000, prefilter });
        for (const r of page.runs) {
          if (await keep(r.run)) all.push({ run: r.run, s: searchableRun(r.run) });
          if (filteringMs > budget) {
            throw new InvalidParameterError(
              `runs/search: filtering the runs took more than ${budget} ms before the order_by could be applied; narrow the filter or the experiments, or search in the default order (start_time DESC), which answers page by page.`,
            );
          }
        }
        const last = page.last ?? page.runs[page.runs.length - 1]?.position;
        if (page.done || !last) break;
        after = last;
      }
    }
    const cmp = comparatorFor<Searchable & { run: RunRecord }>(order, (a, b) => {
      const d = b.run.info.start_time - a.run.info.start_time;
      return d !== 0 ? d : a.run.info.run_id < b.run.info.run_id ? -1 : 1;
    });
    const entries = all.map((e) => ({ ...e.s, run: e.run }));
    entries.sort(cmp);
    const offset = pos?.offset ?? 0;
    const page = entries.slice(offset, offset + max).map((e) => e.run);
    return {
      runs: page,
      next_page_token:
        offset + max < entries.length ? encodePageToken({ offset: offset + max }, fp) : undefined,
    };
  }
}
