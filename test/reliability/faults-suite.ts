import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MaterializeFaultCounts, runMaterializeFaults } from './faults-materialize';
import { type PipelineFaultCounts, pipelineCounts, preparePipeline, verifyPipeline } from './faults-pipeline';
import { mulberry32, startChild, writeTemplate } from './faults-support';

/** What the tracking workload's kill -9 cycles found. */
export interface TrackingFaultCounts {
  readonly cycles: number;
  /** Writes the API answered 200 (experiments, runs, metric points). */
  readonly acknowledged: number;
  /** Acknowledged writes not readable after the restart. */
  readonly lost: number;
  /** One thing stored twice: a metric point twice in its history, a name or run twice in a listing. */
  readonly duplicated: number;
  /** Listed experiments or runs whose get answers 404 (or another name). */
  readonly ghosts: number;
  /** Names neither readable nor creatable, and reruns that failed. */
  readonly wedged: number;
  /** Runs whose latest value of a metric is not the greatest point of its history. */
  readonly lagging: number;
}

/** What the whole fault suite found: totals over its scenarios, and each scenario's counts. */
export interface FaultCounts {
  readonly cycles: number;
  /** Acknowledged tracking writes, online values compared, and pipeline records checked. */
  readonly acknowledged: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly ghosts: number;
  readonly wedged: number;
  readonly lagging: number;
  /** Online values that differ from a clean materialization's. */
  readonly mismatched: number;
  readonly scenarios: {
    readonly tracking: TrackingFaultCounts;
    readonly materialize: MaterializeFaultCounts;
    readonly pipeline: PipelineFaultCounts;
  };
}

/**
 * The kill -9 fault suite: the local runtime under a tracking workload while a training
 * pipeline executes (runRuntimeFaults), and a materialization (runMaterializeFaults), each in
 * a child process on a persistent data dir killed with SIGKILL at a random moment, restarted
 * and rerun. `cycles` applies to each scenario.
 *
 * @example
 * const counts = await runFaultSuite({ cycles: 3 });
 * // counts.lost + counts.duplicated + counts.ghosts + counts.wedged + counts.lagging + counts.mismatched === 0
 */
export async function runFaultSuite(
  options: { cycles?: number; seed?: number; onProgress?: (m: string) => void } = {},
): Promise<FaultCounts> {
  const cycles = options.cycles ?? 3;
  const random = mulberry32(options.seed ?? 17);
  const { tracking, pipeline } = await runRuntimeFaults({ ...options, cycles, pipelineCycles: cycles });
  const materialize = await runMaterializeFaults({ cycles, random, onProgress: options.onProgress });
  return {
    cycles,
    acknowledged: tracking.acknowledged + materialize.values + pipeline.checked,
    lost: tracking.lost,
    duplicated: tracking.duplicated + materialize.duplicated + pipeline.duplicated,
    ghosts: tracking.ghosts + pipeline.ghosts,
    wedged: tracking.wedged + materialize.wedged + pipeline.wedged,
    lagging: tracking.lagging,
    mismatched: materialize.mismatched,
    scenarios: { tracking, materialize, pipeline },
  };
}

/**
 * kill -9 of the local runtime: runs it in a child process on a persistent data dir, drives
 * experiment creation, run creation and log-batch streams against it from several clients,
 * kills it with SIGKILL at a random moment, restarts it on the same dir, and checks that
 * nothing acknowledged was lost or duplicated, no listing shows a ghost, no name is wedged,
 * latest metrics match their history, and a rerun of the work completes.
 *
 * In the first `pipelineCycles` cycles the runtime also executes a training pipeline, and the
 * kill comes after a random number of its state changes (plus a random delay), inside the
 * tracking writes: one child start serves both. Every restarted runtime reruns the
 * executions under their names; at the end each is checked (verifyPipeline).
 *
 * @example
 * const { tracking, pipeline } = await runRuntimeFaults({ cycles: 3, pipelineCycles: 1 });
 * // tracking.lost + tracking.duplicated + tracking.ghosts + tracking.wedged + tracking.lagging === 0
 */
export async function runRuntimeFaults(
  options: {
    cycles?: number;
    pipelineCycles?: number;
    seed?: number;
    workers?: number;
    onProgress?: (m: string) => void;
  } = {},
): Promise<{ tracking: TrackingFaultCounts; pipeline: PipelineFaultCounts }> {
  const cycles = options.cycles ?? 3;
  const pipelineCycles = Math.min(cycles, options.pipelineCycles ?? 1);
  const workers = options.workers ?? 3;
  const progress = options.onProgress ?? (() => undefined);
  const random = mulberry32(options.seed ?? 17);
  const dir = mkdtempSync(join(tmpdir(), 'mlops-faults-'));
  const templatePath = await writeTemplate(dir);
  const dataDir = join(dir, 'data');
  const counts: Counts = {
    cycles,
    acknowledged: 0,
    lost: 0,
    duplicated: 0,
    ghosts: 0,
    wedged: 0,
    lagging: 0,
  };
  const ledger: Ledger = { experiments: new Map(), runs: new Map(), attempted: new Set() };
  const pipeline = pipelineCounts(pipelineCycles) as { -readonly [K in keyof PipelineFaultCounts]: number };
  const executions = Array.from({ length: pipelineCycles }, (_, i) => `faults-${i}`);
  const pipelinesFile = join(dir, 'pipelines.json');
  mkdirSync(dataDir, { recursive: true });
  if (pipelineCycles > 0) {
    const input = await preparePipeline(dataDir);
    writeFileSync(pipelinesFile, JSON.stringify(executions.map((name) => ({ name, input }))));
  }
  const start = () => startRuntime(dataDir, templatePath, pipelineCycles > 0 ? pipelinesFile : undefined);
  let child = await start();
  try {
    for (let cycle = 0; cycle < cycles; cycle++) {
      const execution = executions[cycle];
      if (execution) {
        // A random point of the execution: after some of its ~20 state changes, some ms into the next.
        const changes = 1 + Math.floor(random() * 19);
        const wait = Math.floor(random() * 400);
        const ended = await Promise.race([
          child
            .waitFor(new RegExp(`^# ${execution} .*[▶✓]`), changes)
            .then(() => new Promise((r) => setTimeout(r, wait)).then(() => false)),
          child.waitFor(new RegExp(`^RESULT ${execution} `)).then(() => true),
        ]);
        if (!ended) pipeline.interrupted++;
        progress(
          `cycle ${cycle + 1}: ${execution} ${ended ? 'ended' : `at state change ${changes} + ${wait} ms`}`,
        );
      }
      const api = child.url;
      let stopped = false;
      const work = Array.from({ length: workers }, (_, w) =>
        // A request cut by the kill rejects: that write was never acknowledged.
        workload(api, `c${cycle}-w${w}`, ledger, () => stopped).catch(() => undefined),
      );
      // Somewhere inside the stream of writes: after the first creates, before it ends.
      const delay = 150 + Math.floor(random() * 900);
      await new Promise((r) => setTimeout(r, delay));
      await child.kill();
      stopped = true;
      await Promise.allSettled(work);
      progress(`cycle ${cycle + 1}/${cycles}: killed after ${delay} ms; restarting`);
      child = await start();
      await verify(child.url, ledger, counts);
      await rerun(child.url, ledger, counts, `c${cycle}`);
    }
    await verify(child.url, ledger, counts);
    for (const execution of executions) {
      const result = JSON.parse((await child.waitFor(new RegExp(`^RESULT ${execution} (.*)$`)))[1] as string);
      await verifyPipeline(child.url, execution, result.status, pipeline);
    }
  } finally {
    await child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  counts.acknowledged =
    ledger.experiments.size +
    ledger.runs.size +
    [...ledger.runs.values()].reduce((n, r) => n + r.points.length, 0);
  return { tracking: counts, pipeline };
}

type Counts = { -readonly [K in keyof TrackingFaultCounts]: number };

interface Ledger {
  /** Acknowledged experiments: name → id. */
  experiments: Map<string, string>;
  /** Acknowledged runs and their acknowledged metric points. */
  runs: Map<string, { experimentId: string; points: Point[] }>;
  /** Every experiment name a create was sent for. */
  attempted: Set<string>;
}
interface Point {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

async function call(
  api: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api}/api/2.0/mlflow/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** One client: experiments, each with a run and a stream of log batches, until the server dies. */
async function workload(api: string, prefix: string, ledger: Ledger, stopped: () => boolean): Promise<void> {
  for (let i = 0; !stopped(); i++) {
    const name = `${prefix}-e${i}`;
    ledger.attempted.add(name);
    const created = await call(api, 'POST', 'experiments/create', { name });
    if (created.status !== 200) return;
    ledger.experiments.set(name, created.body.experiment_id);
    await streamRun(api, created.body.experiment_id, ledger, stopped, 6);
  }
}

async function streamRun(
  api: string,
  experimentId: string,
  ledger: Ledger,
  stopped: () => boolean,
  batches: number,
): Promise<void> {
  const run = await call(api, 'POST', 'runs/create', { experiment_id: experimentId, start_time: Date.now() });
  if (run.status !== 200) throw new Error(`runs/create: ${run.status} ${JSON.stringify(run.body)}`);
  const runId = run.body.run.info.run_id as string;
  const entry = { experimentId, points: [] as Point[] };
  ledger.runs.set(runId, entry);
  for (let b = 0; b < batches && !stopped(); b++) {
    const metrics: Point[] = [];
    for (let k = 0; k < 40; k++) {
      const step = b * 40 + k;
      metrics.push({ key: `m${k % 4}`, value: Math.sin(step), timestamp: 1_000_000 + step, step });
    }
    const res = await call(api, 'POST', 'runs/log-batch', { run_id: runId, metrics });
    if (res.status !== 200) throw new Error(`runs/log-batch: ${res.status} ${JSON.stringify(res.body)}`);
    entry.points.push(...metrics);
  }
}

const orderKey = (p: { step: number; timestamp: number; value: number }) => [p.step, p.timestamp, p.value];
function greater(a: Point, b: Point): boolean {
  const [x, y] = [orderKey(a), orderKey(b)];
  for (let i = 0; i < 3; i++)
    if ((x[i] as number) !== (y[i] as number)) return (x[i] as number) > (y[i] as number);
  return false;
}

async function verify(api: string, ledger: Ledger, counts: Counts): Promise<void> {
  for (const [name, id] of ledger.experiments) {
    const got = await call(api, 'GET', `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
    if (got.status !== 200 || got.body.experiment.experiment_id !== id) counts.lost++;
  }
  for (const name of ledger.attempted) {
    if (ledger.experiments.has(name)) continue;
    const got = await call(api, 'GET', `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
    if (got.status === 200) ledger.experiments.set(name, got.body.experiment.experiment_id);
    else if (got.status === 404) {
      const created = await call(api, 'POST', 'experiments/create', { name });
      if (created.status === 200) ledger.experiments.set(name, created.body.experiment_id);
      else counts.wedged++;
    } else counts.wedged++;
  }
  // Listings: every entry readable, nothing twice.
  const listed = await call(api, 'POST', 'experiments/search', { max_results: 50000, view_type: 'ALL' });
  const names = new Set<string>();
  for (const e of listed.body.experiments ?? []) {
    if (names.has(e.name)) counts.duplicated++;
    names.add(e.name);
    const got = await call(api, 'GET', `experiments/get?experiment_id=${e.experiment_id}`);
    if (got.status !== 200 || got.body.experiment.name !== e.name) counts.ghosts++;
  }
  const experimentIds = [...new Set([...ledger.experiments.values()])];
  const runIds = new Set<string>();
  for (const experimentId of experimentIds) {
    let token: string | undefined;
    do {
      const page = await call(api, 'POST', 'runs/search', {
        experiment_ids: [experimentId],
        max_results: 1000,
        ...(token ? { page_token: token } : {}),
      });
      for (const r of page.body.runs ?? []) {
        const id = r.info.run_id as string;
        if (runIds.has(id)) counts.duplicated++;
        runIds.add(id);
        if ((await call(api, 'GET', `runs/get?run_id=${id}`)).status !== 200) counts.ghosts++;
      }
      token = page.body.next_page_token;
    } while (token);
  }
  for (const [runId, entry] of ledger.runs) {
    const run = await call(api, 'GET', `runs/get?run_id=${runId}`);
    if (run.status !== 200 || !runIds.has(runId)) {
      counts.lost += 1 + entry.points.length;
      continue;
    }
    const latest = new Map<string, Point>((run.body.run.data.metrics ?? []).map((m: Point) => [m.key, m]));
    for (const key of ['m0', 'm1', 'm2', 'm3']) {
      const hist = await call(api, 'GET', `metrics/get-history?run_id=${runId}&metric_key=${key}`);
      const points = (hist.body.metrics ?? []) as Point[];
      const seen = new Set<string>();
      let top: Point | undefined;
      for (const p of points) {
        const k = orderKey(p).join('/');
        if (seen.has(k)) counts.duplicated++;
        seen.add(k);
        if (!top || greater(p, top)) top = p;
      }
      for (const p of entry.points) if (p.key === key && !seen.has(orderKey(p).join('/'))) counts.lost++;
      const l = latest.get(key);
      if ((top && (!l || orderKey(l).join('/') !== orderKey(top).join('/'))) || (!top && l)) counts.lagging++;
    }
  }
}

/** The same work again after the restart: every name usable, a new run and its batches complete. */
async function rerun(api: string, ledger: Ledger, counts: Counts, prefix: string): Promise<void> {
  for (const name of ledger.attempted) {
    if (!name.startsWith(`${prefix}-`)) continue;
    let created = await call(api, 'POST', 'experiments/create', { name });
    if (created.status === 400 && created.body.error_code === 'RESOURCE_ALREADY_EXISTS') {
      created = await call(api, 'GET', `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`);
      created.body.experiment_id = created.body.experiment?.experiment_id;
    }
    if (created.status !== 200) {
      counts.wedged++;
      continue;
    }
    ledger.experiments.set(name, created.body.experiment_id);
    await streamRun(api, created.body.experiment_id, ledger, () => false, 2).catch(() => {
      counts.wedged++;
    });
  }
}

/** The local runtime in a child process on `dataDir`, once its gateway answers. */
async function startRuntime(dataDir: string, templatePath: string, pipelines?: string) {
  const child = startChild(['runtime', dataDir, templatePath, ...(pipelines ? [pipelines] : [])]);
  const url = (await child.waitFor(/^READY (\S+)/))[1] as string;
  return { ...child, url };
}
