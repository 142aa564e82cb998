import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalRuntime } from '../../local/runtime';
import { demoInput, seedDemo } from '../../local/start';

/** What the pipeline fault runs found. */
export interface PipelineFaultCounts {
  readonly cycles: number;
  /** Executions a kill interrupted (the others ran to the end before the kill). */
  readonly interrupted: number;
  /** Parent runs, trial runs and registered versions an execution left (each should be one). */
  readonly checked: number;
  /** A second parent run, finished trial run or registered version for the same execution. */
  readonly duplicated: number;
  /** Reruns that did not succeed, versions left PENDING_REGISTRATION, an execution with no parent run. */
  readonly wedged: number;
  /** Listed runs or artifacts that cannot be read back whole. */
  readonly ghosts: number;
}

const MODEL = 'faults-model';
const EXECUTION_TAG = 'mlops.execution_arn';
const TRIAL_TAG = 'mlops.trial';

// biome-ignore lint/suspicious/noExplicitAny: MLflow responses are read field by field
type Json = any;

async function call(
  api: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Json = text;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    // A downloaded artifact.
  }
  return { status: res.status, body: parsed };
}

/**
 * Seeds the demo data and feature repo into a data dir (seedDemo needs no running runtime,
 * only its data dir) and writes the pipeline input the fault children run; returns its path.
 *
 * @example
 * const input = await preparePipeline(dataDir);
 */
export async function preparePipeline(dataDir: string): Promise<string> {
  const seed = await seedDemo({ dataDir } as LocalRuntime, { users: 150, seed: 7 });
  const inputFile = join(dataDir, 'pipeline-input.json');
  const training = { algorithm: 'logistic', strategy: 'random', maxTrials: 2 };
  writeFileSync(inputFile, JSON.stringify(demoInput(seed, { modelName: MODEL, training })));
  return inputFile;
}

/** A new, zeroed count. */
export function pipelineCounts(cycles: number): PipelineFaultCounts {
  return { cycles, interrupted: 0, checked: 0, duplicated: 0, wedged: 0, ghosts: 0 };
}

/**
 * Checks what one execution left once its rerun ended: it succeeded, it has one parent run,
 * one finished run per trial and one READY registered version, and every run of the
 * experiment and artifact of the parent run reads back whole.
 */
export async function verifyPipeline(
  url: string,
  name: string,
  status: string,
  counts: PipelineFaultCounts,
): Promise<void> {
  const c = counts as Counts;
  if (status !== 'SUCCEEDED') c.wedged++;
  await verify(url, name, c);
}

type Counts = { -readonly [K in keyof PipelineFaultCounts]: number };

async function verify(url: string, name: string, counts: Counts): Promise<void> {
  const mlflow = '/api/2.0/mlflow/';
  const exp = await call(url, 'GET', `${mlflow}experiments/get-by-name?experiment_name=${MODEL}`);
  const experimentId = exp.body.experiment?.experiment_id as string;
  const runs: Json[] = [];
  let token: string | undefined;
  do {
    const page = await call(url, 'POST', `${mlflow}runs/search`, {
      experiment_ids: [experimentId],
      max_results: 1000,
      ...(token ? { page_token: token } : {}),
    });
    runs.push(...(page.body.runs ?? []));
    token = page.body.next_page_token;
  } while (token);
  const tags = (r: Json) => Object.fromEntries((r.data.tags ?? []).map((t: Json) => [t.key, t.value]));
  const parents = runs.filter((r) => String(tags(r)[EXECUTION_TAG] ?? '').endsWith(`:${name}`));
  counts.checked += parents.length;
  if (parents.length === 0) counts.wedged++;
  counts.duplicated += Math.max(0, parents.length - 1);
  const parent = parents[0];
  const trials = new Map<string, number>();
  for (const r of runs) {
    const t = tags(r);
    if (t['mlflow.parentRunId'] !== parent?.info.run_id || r.info.status !== 'FINISHED') continue;
    trials.set(t[TRIAL_TAG], (trials.get(t[TRIAL_TAG]) ?? 0) + 1);
  }
  for (const n of trials.values()) {
    counts.checked++;
    counts.duplicated += n - 1;
  }
  // Every listed run answers, and every artifact it lists downloads whole.
  for (const r of runs) {
    if ((await call(url, 'GET', `${mlflow}runs/get?run_id=${r.info.run_id}`)).status !== 200) counts.ghosts++;
  }
  if (parent)
    await checkArtifacts(url, String(parent.info.artifact_uri).replace(/^mlflow-artifacts:\//, ''), counts);
  const versions = (
    await call(url, 'GET', `${mlflow}model-versions/search?filter=${encodeURIComponent(`name='${MODEL}'`)}`)
  ).body.model_versions as Json[];
  const mine = (versions ?? []).filter((v) => v.run_id === parent?.info.run_id);
  counts.checked += mine.length;
  counts.duplicated += Math.max(0, mine.length - 1);
  if (mine.length === 0 || mine.some((v) => v.status !== 'READY')) counts.wedged++;
}

async function checkArtifacts(url: string, path: string, counts: Counts): Promise<void> {
  const list = await call(url, 'GET', `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(path)}`);
  for (const f of list.body.files ?? []) {
    const full = `${path}/${f.path}`;
    if (f.is_dir) {
      await checkArtifacts(url, full, counts);
      continue;
    }
    const res = await fetch(
      `${url}/api/2.0/mlflow-artifacts/artifacts/${full.split('/').map(encodeURIComponent).join('/')}`,
    );
    const bytes = (await res.arrayBuffer()).byteLength;
    if (res.status !== 200 || (f.file_size !== undefined && bytes !== f.file_size)) counts.ghosts++;
  }
}
