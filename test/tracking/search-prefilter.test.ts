import { beforeAll, describe, expect, it } from 'vitest';
import { call, unique } from './support';

// 120 runs with the awkward cases a store-side filter could get wrong: NaN metrics, values
// DynamoDB numbers cannot hold (beyond 2^53, below 1e-130, above 1e126, Infinity clamped),
// missing metrics and params, a tag key with dots, deleted runs, finished and running ones.
const EXTREMES: [sent: number | string, stored: number][] = [
  [1e20, 1e20],
  [-1e300, -1e300],
  [1e-200, 1e-200],
  [5e-324, 5e-324],
  [2 ** 53 + 2, 2 ** 53 + 2],
  ['Infinity', Number.MAX_VALUE],
  [-(2 ** 60), -(2 ** 60)],
];
interface Made {
  id: string;
  auc?: number;
  model?: string;
  team?: string;
  status: string;
  deleted: boolean;
  start: number;
}
const made: Made[] = [];
let experimentId = '';

beforeAll(async () => {
  experimentId = (await call('POST', 'experiments/create', { name: unique('prefilter') })).body.experiment_id;
  for (let i = 0; i < 120; i++) {
    const start = 1_700_000_000_000 + i * 1000;
    const run = (await call('POST', 'runs/create', { experiment_id: experimentId, start_time: start })).body
      .run;
    const id = run.info.run_id as string;
    const extreme = i % 17 === 7 ? EXTREMES[Math.floor(i / 17) % EXTREMES.length] : undefined;
    const auc =
      i % 11 === 0 ? undefined : i % 13 === 0 ? Number.NaN : extreme ? extreme[1] : ((i * 37) % 100) / 100;
    const sent = Number.isNaN(auc) ? 'NaN' : extreme ? extreme[0] : auc;
    const model = i % 7 === 0 ? undefined : ['gbdt', 'logistic', 'gbdt-v2'][i % 3];
    const team = i % 5 === 0 ? undefined : i % 2 ? 'growth' : 'risk';
    await call('POST', 'runs/log-batch', {
      run_id: id,
      metrics: auc === undefined ? [] : [{ key: 'auc', value: sent, timestamp: start, step: 0 }],
      params: model === undefined ? [] : [{ key: 'model', value: model }],
      tags: team === undefined ? [] : [{ key: 'owner.team', value: team }],
    });
    const finished = i % 4 !== 0;
    if (finished)
      await call('POST', 'runs/update', { run_id: id, status: 'FINISHED', end_time: start + 500 });
    const deleted = i % 17 === 0;
    if (deleted) await call('POST', 'runs/delete', { run_id: id });
    made.push({ id, auc, model, team, status: finished ? 'FINISHED' : 'RUNNING', deleted, start });
  }
}, 120_000);

/** Every page of a search, in order. */
async function searchAll(filter: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const r = await call('POST', 'runs/search', {
      experiment_ids: [experimentId],
      filter,
      max_results: 7,
      ...extra,
      ...(token ? { page_token: token } : {}),
    });
    expect(r.status).toBe(200);
    ids.push(...(r.body.runs ?? []).map((x: { info: { run_id: string } }) => x.info.run_id));
    token = r.body.next_page_token;
  } while (token);
  return ids;
}

/** The same filters in plain JS, in the index order (start time descending). */
function expected(
  pred: (m: Made) => boolean,
  view: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL' = 'ACTIVE_ONLY',
): string[] {
  return made
    .filter((m) => (view === 'ALL' ? true : view === 'ACTIVE_ONLY' ? !m.deleted : m.deleted))
    .filter(pred)
    .sort((a, b) => b.start - a.start)
    .map((m) => m.id);
}

const num = (x: number | undefined): x is number => x !== undefined && !Number.isNaN(x);

describe('runs/search with filters the store applies while reading', () => {
  it.each([
    ['metrics.auc > 0.5', (m: Made) => num(m.auc) && m.auc > 0.5],
    ['metrics.auc <= 0.3', (m: Made) => num(m.auc) && m.auc <= 0.3],
    ['metrics.auc != 0.37', (m: Made) => num(m.auc) && m.auc !== 0.37],
    ['metrics.auc = 0.74', (m: Made) => num(m.auc) && m.auc === 0.74],
    ['metrics.auc > 1e19', (m: Made) => num(m.auc) && m.auc > 1e19],
    ['metrics.auc < -1e299', (m: Made) => num(m.auc) && m.auc < -1e299],
    ['metrics.auc > 0 AND metrics.auc <= 1e-130', (m: Made) => num(m.auc) && m.auc > 0 && m.auc <= 1e-130],
    ['metrics.auc >= 1.7976931348623157e308', (m: Made) => num(m.auc) && m.auc >= Number.MAX_VALUE],
    ['metrics.auc > 1e309', () => false],
    ['metrics.auc < 1e309', (m: Made) => num(m.auc)],
    ["params.model = 'gbdt'", (m: Made) => m.model === 'gbdt'],
    ["params.model != 'gbdt'", (m: Made) => m.model !== undefined && m.model !== 'gbdt'],
    ["tags.`owner.team` = 'risk'", (m: Made) => m.team === 'risk'],
    ["attributes.status = 'RUNNING'", (m: Made) => m.status === 'RUNNING'],
    [
      "attributes.status != 'RUNNING' AND metrics.auc >= 0.2",
      (m: Made) => m.status !== 'RUNNING' && num(m.auc) && m.auc >= 0.2,
    ],
    [
      `attributes.start_time > ${1_700_000_000_000 + 60_000}`,
      (m: Made) => m.start > 1_700_000_000_000 + 60_000,
    ],
    // Only the oldest runs match: the first pages the store reads return nothing.
    [
      `attributes.start_time < ${1_700_000_000_000 + 20_000}`,
      (m: Made) => m.start < 1_700_000_000_000 + 20_000,
    ],
    [
      "params.model LIKE 'gbdt%' AND metrics.auc < 0.9",
      (m: Made) => m.model?.startsWith('gbdt') === true && num(m.auc) && m.auc < 0.9,
    ],
  ])('%s gives the runs the filter defines, page after page', async (filter, pred) => {
    expect(await searchAll(filter)).toEqual(expected(pred));
  });

  it('keeps the run view: deleted runs only, and all runs', async () => {
    expect(await searchAll('metrics.auc > 0.1', { run_view_type: 'DELETED_ONLY' })).toEqual(
      expected((m) => num(m.auc) && m.auc > 0.1, 'DELETED_ONLY'),
    );
    expect(await searchAll("params.model = 'logistic'", { run_view_type: 'ALL' })).toEqual(
      expected((m) => m.model === 'logistic', 'ALL'),
    );
  });

  it('sorts a filtered search by a metric, reading past filtered-out runs', async () => {
    const r = await call('POST', 'runs/search', {
      experiment_ids: [experimentId],
      filter: "params.model = 'gbdt' AND metrics.auc > 0.2",
      order_by: ['metrics.auc DESC'],
      max_results: 1000,
    });
    const want = made
      .filter((m) => !m.deleted && m.model === 'gbdt' && num(m.auc) && m.auc > 0.2)
      .sort((a, b) => (b.auc as number) - (a.auc as number) || b.start - a.start);
    expect(
      r.body.runs.map((x: { data: { metrics: { value: number }[] } }) => x.data.metrics[0]?.value),
    ).toEqual(want.map((m) => m.auc));
  });

  it('merges experiments in index order when one of them has only filtered-out pages first', async () => {
    const other = (await call('POST', 'experiments/create', { name: unique('prefilter-b') })).body
      .experiment_id;
    const mine: { id: string; start: number }[] = [];
    for (let i = 0; i < 40; i++) {
      const start = 1_700_000_000_000 + i * 1000 + 500; // between the first experiment's runs
      const run = (await call('POST', 'runs/create', { experiment_id: other, start_time: start })).body.run;
      mine.push({ id: run.info.run_id, start });
    }
    const cut = 1_700_000_000_000 + 15_000;
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const r = await call('POST', 'runs/search', {
        experiment_ids: [experimentId, other],
        filter: `attributes.start_time < ${cut}`,
        max_results: 4,
        ...(token ? { page_token: token } : {}),
      });
      ids.push(...r.body.runs.map((x: { info: { run_id: string } }) => x.info.run_id));
      token = r.body.next_page_token;
    } while (token);
    const want = [...made.filter((m) => !m.deleted), ...mine]
      .filter((m) => m.start < cut)
      .sort((a, b) => b.start - a.start)
      .map((m) => m.id);
    expect(ids).toEqual(want);
  });
});
