// biome-ignore-all lint/suspicious/noExplicitAny: API answers are read field by field, as the tests do.
import autocannon, { type RequestSpec, type Result } from 'autocannon';
import type { ReliabilityEnv } from './environment';

/**
 * A mixed workload against the local platform with autocannon: tracking writes
 * (log-metric, log-batch, set-tag), searches (runs, experiments), online feature reads
 * and predictions of the deployed model (v1 predict with feature rows, Open Inference
 * Protocol v2 infer), all at once, for a fixed time and at most a fixed number of
 * requests. Every write carries a unique id; afterwards every acknowledged write is read
 * back. Every prediction answered 200 is compared with the model's answer to the same
 * rows before the load.
 */

export interface LoadOptions {
  readonly seconds: number;
  readonly maxRequests: number;
  /** Connections per route. */
  readonly connections: number;
  readonly onProgress?: (message: string) => void;
}

export interface LoadRouteResult {
  readonly route: string;
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly fiveXX: number;
  /** Connection errors and timeouts (no answer). */
  readonly errors: number;
  /** Predictions only: 200 answers whose values differ from the model's answer before the load. */
  readonly wrongAnswers?: number;
}

export interface LoadReport {
  readonly seconds: number;
  readonly routes: LoadRouteResult[];
  readonly requests: number;
  readonly rps: number;
  readonly fiveXX: number;
  readonly errors: number;
  /** Prediction answers (200) that differ from the model's answer to the same rows. */
  readonly wrongAnswers: number;
  /** Writes answered 2xx, and how many of them the read-back did not find, found twice, or found unasked. */
  readonly acknowledged: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly ghosts: number;
  /** A few examples of each problem, for the report. */
  readonly problems: string[];
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const RUNS = 4;

interface Ledger {
  /** ids sent / acknowledged per kind. */
  sent: Map<string, Set<number>>;
  acked: Map<string, Set<number>>;
  /** set-tag: per tag key, the ids in the order they were sent, and the acknowledged ones. */
  tagSends: Map<string, number[]>;
}

function record(map: Map<string, Set<number>>, kind: string, id: number) {
  const s = map.get(kind) ?? new Set<number>();
  s.add(id);
  map.set(kind, s);
}

async function api(env: ReliabilityEnv, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${env.url}${path}`, {
    method,
    headers: body === undefined ? {} : JSON_HEADERS,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** Runs the workload and the read-back. The environment's state is left as the load wrote it. */
export async function runLoad(env: ReliabilityEnv, options: LoadOptions): Promise<LoadReport> {
  const runs: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await api(env, 'POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: env.seeds.experimentId,
      run_name: `load-${i}`,
    });
    runs.push(r.run.info.run_id);
  }
  let nextId = 1;
  const ledger: Ledger = { sent: new Map(), acked: new Map(), tagSends: new Map() };
  const runOf = (id: number) => runs[id % RUNS] as string;
  let nextConnection = 0;

  // A write request: setupRequest picks a fresh id and remembers it on the connection
  // (one request in flight per connection), onResponse acknowledges it on a 2xx.
  const write = (
    kind: string,
    path: string,
    body: (id: number, ctx: Record<string, any>) => unknown,
  ): RequestSpec => ({
    method: 'POST',
    path,
    headers: JSON_HEADERS,
    setupRequest: (req, ctx) => {
      const id = nextId++;
      ctx.pending = id;
      record(ledger.sent, kind, id);
      return { ...req, body: JSON.stringify(body(id, ctx)) };
    },
    onResponse: (status, _body, ctx) => {
      if (status >= 200 && status < 300) record(ledger.acked, kind, ctx.pending as number);
    },
  });
  const read = (path: string, body: unknown): RequestSpec => ({
    method: 'POST',
    path,
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
  });

  // Predictions: the same rows on every call, so every answer must be the reference one.
  const wrong = new Map<string, number>();
  const firstWrong = new Map<string, string>();
  const predict = async (
    route: string,
    path: string,
    body: unknown,
    values: (answer: any) => unknown,
  ): Promise<[string, RequestSpec]> => {
    const expected = JSON.stringify(values(await api(env, 'POST', path, body)));
    return [
      route,
      {
        ...read(path, body),
        onResponse: (status, text) => {
          if (status !== 200) return;
          let got: string | undefined;
          try {
            got = JSON.stringify(values(JSON.parse(text)));
          } catch {
            // Not JSON: counted as a wrong answer below.
          }
          if (got !== expected) {
            wrong.set(route, (wrong.get(route) ?? 0) + 1);
            if (wrong.get(route) === 1) firstWrong.set(route, text.slice(0, 300));
          }
        },
      },
    ];
  };
  const model = encodeURIComponent(env.seeds.modelName);
  const predictions = [
    await predict(
      'POST v1/models/{name}/predict',
      `/v1/models/${model}/predict`,
      { instances: env.seeds.modelRows },
      (a) => a.predictions,
    ),
    await predict(
      'POST v2/models/{name}/infer',
      `/v2/models/${model}/infer`,
      { inputs: env.seeds.modelInputs, outputs: [{ name: 'probabilities' }] },
      (a) => a.outputs,
    ),
  ];

  const workloads: [string, RequestSpec][] = [
    [
      'POST runs/log-metric',
      write('metric', '/api/2.0/mlflow/runs/log-metric', (id) => ({
        run_id: runOf(id),
        key: 'load_m',
        value: id,
        timestamp: id,
        step: id,
      })),
    ],
    [
      'POST runs/log-batch',
      write('batch', '/api/2.0/mlflow/runs/log-batch', (id) => ({
        run_id: runOf(id),
        metrics: [{ key: 'load_b', value: id, timestamp: id, step: id }],
        params: [{ key: `p${id}`, value: String(id) }],
        tags: [{ key: `bt${id}`, value: String(id) }],
      })),
    ],
    [
      'POST runs/set-tag',
      write('tag', '/api/2.0/mlflow/runs/set-tag', (id, ctx) => {
        // Each connection rewrites its own tag: the last acknowledged value must win.
        ctx.tagKey ??= `conn${nextConnection++}`;
        const key = ctx.tagKey as string;
        const sends = ledger.tagSends.get(key) ?? [];
        sends.push(id);
        ledger.tagSends.set(key, sends);
        ctx.tagRun ??= runs[0];
        return { run_id: ctx.tagRun, key, value: String(id) };
      }),
    ],
    [
      'POST runs/search',
      read('/api/2.0/mlflow/runs/search', { experiment_ids: [env.seeds.experimentId], max_results: 20 }),
    ],
    ['POST experiments/search', read('/api/2.0/mlflow/experiments/search', { max_results: 20 })],
    [
      'POST features/get-online-features',
      read('/features/get-online-features', {
        features: env.seeds.featureRefs,
        entities: { [env.seeds.entityKey]: [1, 2, 3, 42] },
      }),
    ],
    ...predictions,
  ];

  options.onProgress?.(
    `load: ${workloads.length} routes x ${options.connections} connections for ${options.seconds} s (at most ${options.maxRequests} requests)`,
  );
  const perRoute = Math.max(options.connections, Math.floor(options.maxRequests / workloads.length));
  const results = await Promise.all(
    workloads.map(
      ([route, spec]) =>
        new Promise<[string, Result]>((resolve, reject) => {
          autocannon(
            {
              url: env.url,
              connections: options.connections,
              duration: options.seconds,
              maxOverallRequests: perRoute,
              timeout: 30,
              requests: [spec],
              title: route,
            },
            (err, result) => (err ? reject(err) : resolve([route, result])),
          );
        }),
    ),
  );

  const predicted = new Set(predictions.map(([route]) => route));
  const routes: LoadRouteResult[] = results.map(([route, r]) => ({
    route,
    requests: r['2xx'] + r.non2xx,
    rps: (r['2xx'] + r.non2xx) / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    fiveXX: r['5xx'],
    errors: r.errors + r.timeouts,
    ...(predicted.has(route) ? { wrongAnswers: wrong.get(route) ?? 0 } : {}),
  }));
  const seconds = Math.max(...results.map(([, r]) => r.duration));
  const requests = routes.reduce((n, r) => n + r.requests, 0);

  options.onProgress?.('load: reading back every acknowledged write');
  const check = await readBack(env, runs, ledger);
  for (const [route, text] of firstWrong) check.problems.push(`${route}: a wrong answer, e.g. ${text}`);
  return {
    seconds,
    routes,
    requests,
    rps: requests / seconds,
    fiveXX: routes.reduce((n, r) => n + r.fiveXX, 0),
    errors: routes.reduce((n, r) => n + r.errors, 0),
    wrongAnswers: routes.reduce((n, r) => n + (r.wrongAnswers ?? 0), 0),
    ...check,
  };
}

async function metricHistory(env: ReliabilityEnv, runId: string, key: string): Promise<any[]> {
  const out: any[] = [];
  let token: string | undefined;
  do {
    const q = new URLSearchParams({ run_id: runId, metric_key: key, max_results: '1000' });
    if (token) q.set('page_token', token);
    const page = await api(env, 'GET', `/api/2.0/mlflow/metrics/get-history?${q}`);
    out.push(...(page.metrics ?? []));
    token = page.next_page_token || undefined;
  } while (token);
  return out;
}

/** Reads every run back and compares it with what was sent and acknowledged. */
async function readBack(
  env: ReliabilityEnv,
  runs: readonly string[],
  ledger: Ledger,
): Promise<Pick<LoadReport, 'acknowledged' | 'lost' | 'duplicated' | 'ghosts' | 'problems'>> {
  let lost = 0;
  let duplicated = 0;
  let ghosts = 0;
  const problems: string[] = [];
  const note = (s: string) => {
    if (problems.length < 12) problems.push(s);
  };
  const sent = (k: string) => ledger.sent.get(k) ?? new Set<number>();
  const acked = (k: string) => ledger.acked.get(k) ?? new Set<number>();

  // Metrics: each id is one point (step = value = timestamp = id) of one run.
  for (const [kind, key] of [
    ['metric', 'load_m'],
    ['batch', 'load_b'],
  ] as const) {
    const seen = new Map<number, number>();
    for (const runId of runs) {
      for (const m of await metricHistory(env, runId, key)) {
        const id = Number(m.step);
        if (runs[id % runs.length] !== runId || Number(m.value) !== id) {
          ghosts++;
          note(`${key}: point ${JSON.stringify(m)} in run ${runId} was never sent there`);
          continue;
        }
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
    }
    for (const [id, n] of seen) {
      if (!sent(kind).has(id)) {
        ghosts++;
        note(`${key}: step ${id} was never sent`);
      } else if (n > 1) {
        duplicated++;
        note(`${key}: step ${id} stored ${n} times`);
      }
    }
    for (const id of acked(kind)) {
      if (!seen.has(id)) {
        lost++;
        note(`${key}: acknowledged step ${id} is missing`);
      }
    }
  }

  // log-batch params and tags, and set-tag's last value per connection.
  const params = new Map<string, string>();
  const tags = new Map<string, string>();
  for (const runId of runs) {
    const run = (await api(env, 'GET', `/api/2.0/mlflow/runs/get?run_id=${runId}`)).run;
    for (const p of run.data.params ?? []) params.set(`${runId}/${p.key}`, p.value);
    for (const t of run.data.tags ?? []) tags.set(`${runId}/${t.key}`, t.value);
  }
  for (const id of acked('batch')) {
    const runId = runs[id % runs.length];
    if (params.get(`${runId}/p${id}`) !== String(id) || tags.get(`${runId}/bt${id}`) !== String(id)) {
      lost++;
      note(`log-batch ${id}: param or tag missing`);
    }
  }
  for (const [key, sends] of ledger.tagSends) {
    const value = tags.get(`${runs[0]}/${key}`);
    const ackedIds = sends.filter((id) => acked('tag').has(id));
    const last = ackedIds.at(-1);
    if (last === undefined) continue;
    // The value is the last acknowledged write or one sent after it (answered or not).
    const allowed = new Set(sends.slice(sends.indexOf(last)).map(String));
    if (value === undefined || !allowed.has(value)) {
      lost++;
      note(`set-tag ${key}: value ${value} but the last acknowledged write was ${last}`);
    }
  }
  const acknowledged = acked('metric').size + acked('batch').size + acked('tag').size;
  return { acknowledged, lost, duplicated, ghosts, problems };
}
