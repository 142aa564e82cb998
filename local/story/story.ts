import { existsSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolvePlatformConfig } from '../../lib/config';
import { routeEvents } from '../event-rules';
import { type LocalRuntime, startLocalRuntime } from '../runtime';
import { startSchedules } from '../scheduler';
import { type StoryContext, type StoryFacts, type StoryOptions, StoryStepError, sleep } from './context';
import { applyRepo, generate, ingestReference, materialize, onDemandTrainingSet } from './data';
import { deployThroughCanary, promote } from './deploy';
import { deployRetrained, detectDrift, retraining, shiftedPeriod, shiftedTraffic } from './drift';
import { abTest, delayedLabels, shadow } from './experiment';
import { writeReport } from './report';
import { brokenCandidate } from './rollback';
import { tidyPreviousRun } from './tidy';
import { type Served, serve, tally } from './traffic';
import { trainThroughPipeline } from './train';

/**
 * The platform configuration the story runs with (as cdk.json's `mlops` would set it): the
 * canary's p99 latency alarm is raised to 10 s because a shared 2-core laptop's p99 says
 * nothing about the model; everything else is the default.
 */
export function storyConfig(trials: number): Record<string, unknown> {
  return { stage: 'local', alarms: { latencyP99Ms: 10_000 }, pipeline: { maxTrials: trials } };
}

/** `10%@<time>,50%@<time>` as `10% → 50%`. */
function stepsOf(steps: string | undefined): string {
  return (steps ?? '')
    .replace(/@[^,]+/g, '')
    .split(',')
    .join(' → ');
}

/** Alarm periods run 60 times faster: a 60 s canary period takes 1 s, the hourly drift alarm 1 minute. */
export const STORY_ALARM_TIME_SCALE = 1 / 60;

export interface StoryRunOptions extends StoryOptions {
  readonly dataDir: string;
  /** Delete the data dir first (else an existing one is reused). */
  readonly reset?: boolean;
  /** Gateway port (0: any free port). */
  readonly port?: number;
  readonly out?: NodeJS.WritableStream;
  /** Called with the runtime once it is up (the CLI stops it on Ctrl-C). */
  readonly onRuntime?: (rt: LocalRuntime, stopEvents: () => void) => void;
  /** Leave the runtime running (the caller stops it). */
  readonly keep?: boolean;
  /** Print the functions' logs (INFO) and alarm reasons in full. */
  readonly verbose?: boolean;
}

export interface StepResult {
  readonly name: string;
  readonly outcome: string;
  readonly seconds: number;
  readonly ok: boolean;
}

export interface StoryResult {
  readonly ok: boolean;
  readonly failedStep?: string;
  readonly error?: string;
  readonly steps: StepResult[];
  readonly facts: StoryFacts;
  readonly report?: string;
  readonly seconds: number;
  readonly dataDir: string;
  /** What happened to the data dir: created, reset or reused. */
  readonly dataDirMode: 'created' | 'reset' | 'reused';
  /** The runtime when `keep` was asked (and the story got that far). */
  readonly runtime?: LocalRuntime;
  readonly stopEvents?: () => void;
}

/** A data dir `mlops` made: holds its DynamoDB or object-store folders. */
function isPlatformDataDir(dir: string): boolean {
  return existsSync(resolve(dir, 'dynamodb')) || existsSync(resolve(dir, 's3'));
}

/**
 * Plays the whole ML lifecycle on the local runtime, through the platform's public
 * interfaces: the HTTP API (MLflow, features, serving, deployments, experiments, shadow,
 * labels), the synthesized state machines (pipeline, materialization, drift job, canary)
 * and the template's rules and alarms. Each step prints its progress; a failed step stops
 * the story, which reports it by name.
 *
 * @example
 * const result = await runStory({ dataDir: '.mlops', users: 500 });
 */
export async function runStory(options: StoryRunOptions): Promise<StoryResult> {
  const out = options.out ?? process.stdout;
  const t0 = performance.now();
  const dataDir = resolve(options.dataDir);
  let dataDirMode: StoryResult['dataDirMode'] = 'created';
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    if (options.reset) {
      if (!isPlatformDataDir(dataDir))
        throw new StoryStepError(
          'reset the data dir',
          `--reset: ${dataDir} does not look like an mlops data dir (no dynamodb/ or s3/ inside); not deleting it`,
        );
      rmSync(dataDir, { recursive: true, force: true });
      dataDirMode = 'reset';
    } else dataDirMode = 'reused';
  }
  const opts = {
    users: options.users ?? 2000,
    days: options.days ?? 180,
    seed: options.seed ?? 42,
    trials: options.trials ?? 6,
    bakeSeconds: options.bakeSeconds ?? 2,
    ...(options.failAt ? { failAt: options.failAt } : {}),
  };
  const facts: StoryFacts = {
    // The served model: the pipeline's, as the configuration sets it.
    model: resolvePlatformConfig(storyConfig(opts.trials)).pipeline.modelName,
    runIds: [],
    versions: {},
    production: [],
    deployments: [],
    predictions: 0,
    driftReports: [],
  };
  const steps: StepResult[] = [];
  const tag = new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14);
  let rt: LocalRuntime | undefined;
  let stopEvents: (() => void) | undefined;
  const events: string[] = [];
  const line = (s: string) => out.write(`${s}\n`);
  const done = (ok: boolean, failedStep?: string, error?: string, report?: string): StoryResult => ({
    ok,
    ...(failedStep ? { failedStep } : {}),
    ...(error ? { error } : {}),
    steps,
    facts,
    ...(report ? { report } : {}),
    seconds: (performance.now() - t0) / 1000,
    dataDir,
    dataDirMode,
    ...(options.keep && rt ? { runtime: rt, stopEvents } : {}),
  });

  const api: StoryContext['api'] = async (method, path, body) => {
    const res = await fetch(`${rt?.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined || method === 'GET' ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { message: text };
    }
    return { status: res.status, json };
  };
  let current = '';
  const ctx: StoryContext = {
    get rt() {
      return rt as LocalRuntime;
    },
    options: opts,
    facts,
    events,
    say: (s) => line(`      ${s}`),
    api,
    async ok(method, path, body) {
      const r = await api(method, path, body);
      if (r.status < 200 || r.status >= 300)
        throw new StoryStepError(
          current,
          `${method} ${path} answered ${r.status}: ${r.json.error_code ?? ''} ${r.json.message ?? JSON.stringify(r.json)}`,
        );
      return r.json;
    },
    async until(what, probe, seconds = 60) {
      const deadline = Date.now() + seconds * 1000;
      let last = Date.now();
      for (;;) {
        const v = await probe();
        if (v !== undefined && v !== false) return v as never;
        if (Date.now() > deadline)
          throw new StoryStepError(current, `timed out after ${seconds}s waiting for ${what}`);
        if (Date.now() - last > 15_000) {
          last = Date.now();
          line(`      … still waiting for ${what}`);
        }
        await sleep(250);
      }
    },
  };

  const plan: { name: string; run: () => Promise<string> }[] = [];
  const step = (name: string, run: () => Promise<string>) => plan.push({ name, run });
  let phaseA: Served[] = [];
  let abServed: Served[] = [];
  const data = () => {
    if (!facts.data) throw new StoryStepError(current, 'no generated data');
    return facts.data;
  };
  const referenceTraffic = (n: number) => data().referenceUsers.slice(0, n);

  step('start the platform', async () => {
    line(
      `      data dir ${dataDir}: ${dataDirMode === 'created' ? 'new' : dataDirMode === 'reset' ? 'reset (deleted and created again)' : 'reused (kept from an earlier run)'}`,
    );
    rt = await startLocalRuntime({
      port: options.port ?? 0,
      dataDir,
      config: storyConfig(opts.trials),
      alarmTimeScale: STORY_ALARM_TIME_SCALE,
      // Functions log only what is critical: the story prints what each step did.
      logLevel: options.verbose ? 'INFO' : 'CRITICAL',
      onProgress: (m) => line(`      ${m.length > 220 && !options.verbose ? `${m.slice(0, 217)}...` : m}`),
    });
    // EventBridge locally: the template's event rules (drift → pipeline) over the event log.
    stopEvents = routeEvents(rt.plan, rt.dataDir, rt.stepFunctions, (l) => {
      events.push(l);
      line(`      [events] ${l}`);
    });
    options.onRuntime?.(rt, () => stopEvents?.());
    if (dataDirMode === 'reused') await tidyPreviousRun(ctx);
    return `API at ${rt.url}, ${rt.plan.routes.length} routes, ${rt.stepFunctions.machines.size} state machines, ${rt.alarms.alarms.length} alarms from the template`;
  });
  step('generate the dataset', async () => {
    await generate(ctx);
    const c = data().counts;
    return `${c.users} users, ${c.purchases} purchases; shifted period: ${c.cohort} users held back`;
  });
  step('apply the feature repo', async () => {
    await applyRepo(ctx);
    await onDemandTrainingSet(ctx);
    return '7d/30d/90d windows, on-demand basket ratio';
  });
  step('ingest with validation', async () => {
    await ingestReference(ctx);
    return `bad batch quarantined (${facts.quarantine?.reason.split(';')[0]})`;
  });
  step('materialize to the online store', async () => {
    await materialize(ctx, current);
    return 'online table loaded';
  });
  step('train v1 (pipeline: logistic baseline)', async () => {
    const s = await trainThroughPipeline(
      ctx,
      current,
      `story-${tag}-v1`,
      { algorithm: 'logistic', maxTrials: 2 },
      'npm start: the baseline',
    );
    if (!s.registration) throw new StoryStepError(current, 'v1 was not registered');
    facts.versions.v1 = String(s.registration.version);
    return `v${facts.versions.v1} registered in Staging (auc ${s.candidate?.testMetrics?.auc?.toFixed(3)})`;
  });
  step('deploy v1 through the canary', async () => {
    const v = facts.versions.v1 as string;
    const { record } = await deployThroughCanary(ctx, v, referenceTraffic(200));
    if (record.status !== 'live')
      throw new StoryStepError(
        current,
        `the canary of v${v} ended ${record.status}: ${record.rollback_reason ?? record.refusal_reason ?? ''}`,
      );
    await promote(ctx, v);
    return `v${v} live after ${stepsOf(record.steps)}, Production`;
  });
  step('serve traffic with entity keys', async () => {
    const users = referenceTraffic(Math.min(600, data().referenceUsers.length));
    const sample = await ctx.ok('POST', `/v1/models/${facts.model}/predict`, {
      entities: { user_id: users.slice(0, 2) },
    });
    line(
      `      POST /v1/models/${facts.model}/predict {"entities": {"user_id": [${users.slice(0, 2).join(', ')}]}}`,
    );
    line(
      `        → v${sample.model_version}, predictions [${sample.predictions.map((p: number) => p.toFixed(3)).join(', ')}] (features read from the online store)`,
    );
    const online = await ctx.ok('POST', '/features/get-online-features', {
      feature_service: 'purchase_propensity',
      entities: { user_id: users.slice(0, 1) },
    });
    const names = online.metadata.feature_names as string[];
    line(
      `      online features of user ${users[0]}: ${names.map((n, i) => `${n}=${JSON.stringify(online.results[i].values[0])}`).join(', ')}`,
    );
    phaseA = await serve(ctx, users, { batch: 5, concurrency: 2 });
    return `${phaseA.length} requests (${tally(phaseA)})`;
  });
  step('train v2 (pipeline: GBDT challenger)', async () => {
    const s = await trainThroughPipeline(
      ctx,
      current,
      `story-${tag}-v2`,
      { algorithm: 'gbdt', maxTrials: opts.trials },
      'npm start: the challenger',
    );
    if (!s.registration)
      throw new StoryStepError(
        current,
        `v2 did not beat Production: ${(s.evaluation?.reasons ?? []).join('; ')}`,
      );
    facts.versions.v2 = String(s.registration.version);
    return `v${facts.versions.v2} beats v${facts.versions.v1} offline (auc ${s.candidate?.testMetrics?.auc?.toFixed(3)})`;
  });
  step('shadow v2 on live traffic', async () => {
    await shadow(ctx, referenceTraffic(Math.min(300, data().referenceUsers.length)), current);
    const s = facts.shadow;
    return `${s?.rows} rows compared, agreement ${s?.agreement === null || s?.agreement === undefined ? 'n/a' : `${(100 * s.agreement).toFixed(1)}%`}`;
  });
  step('A/B test v1 vs v2', async () => {
    const units = data().referenceUsers.slice(0, Math.min(600, data().referenceUsers.length));
    abServed = await abTest(ctx, units, tag, current);
    return `decision: ${facts.experiment?.decision} (${facts.experiment?.units} units)`;
  });
  step('delayed labels and live performance', async () => {
    await delayedLabels(ctx, [...phaseA, ...abServed], current);
    return `${facts.labels?.sent} labelled requests, live auc ${facts.labels?.auc?.toFixed(3) ?? 'n/a'} vs ${facts.labels?.testAuc?.toFixed(3) ?? 'n/a'} at training`;
  });
  step('the shifted period arrives', async () => {
    await shiftedPeriod(ctx, current);
    return `${data().counts.cohort} campaign users ingested and materialized`;
  });
  step('drift detected, alarm fires', async () => {
    await detectDrift(ctx, shiftedTraffic(ctx, Math.max(600, 2 * phaseA.length * 5)), current);
    return `v${facts.drift?.version}: ${facts.drift?.reasons.slice(0, 2).join('; ')}`;
  });
  step('retraining starts by itself', async () => {
    await retraining(ctx, current);
    return `execution ${facts.retraining?.execution} (trigger ${facts.retraining?.trigger}) registered v${facts.versions.retrained}`;
  });
  step('deploy the retrained version', async () => {
    await deployRetrained(ctx, shiftedTraffic(ctx, 200), current);
    return `v${facts.versions.retrained} live, Production`;
  });
  step('broken candidate rolled back', async () => {
    await brokenCandidate(ctx, shiftedTraffic(ctx, 200), current);
    return `v${facts.rollback?.version} rolled back by ${/alarm at [^:]+: ([^:;]+)/.exec(facts.rollback?.reason ?? '')?.[1] ?? 'an alarm'}`;
  });

  // `--fail-at` is checked against STORY_STEPS before anything starts: keep them one list.
  if (plan.map((p) => p.name).join('|') !== STORY_STEPS.join('|'))
    throw new Error('the story steps differ from STORY_STEPS');
  const width = String(plan.length).length;
  let failed: { step: string; error: string } | undefined;
  for (const [i, s] of plan.entries()) {
    current = s.name;
    const started = performance.now();
    line(
      `\n[${String(i + 1).padStart(width)}/${plan.length}] ${s.name}  (${((started - t0) / 1000).toFixed(0)}s)`,
    );
    try {
      if (opts.failAt && opts.failAt === s.name)
        throw new StoryStepError(s.name, `failure injected with --fail-at '${s.name}'`);
      const outcome = await s.run();
      const seconds = (performance.now() - started) / 1000;
      steps.push({ name: s.name, outcome, seconds, ok: true });
      line(`      ✓ ${outcome} (${seconds.toFixed(1)}s)`);
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      const message = (err as Error).message;
      steps.push({ name: s.name, outcome: `FAILED: ${message}`, seconds, ok: false });
      line(`      ✗ ${s.name} failed after ${seconds.toFixed(1)}s: ${message}`);
      failed = { step: s.name, error: message };
      break;
    }
  }
  let report: string | undefined;
  if (rt) {
    try {
      report = await writeReport(ctx, steps);
    } catch (err) {
      line(`      (the HTML report could not be written: ${(err as Error).message})`);
    }
    if (!options.keep) {
      stopEvents?.();
      await rt.stop();
    } else {
      // Left running as `mlops up` runs: the template's schedules fire too.
      const running = rt;
      const stopSchedules = startSchedules(
        running.plan,
        running.stepFunctions,
        (l) => line(`[schedule] ${l}`),
        undefined,
        running.lambda,
      );
      const stopRules = stopEvents;
      stopEvents = () => {
        stopSchedules();
        stopRules?.();
      };
      options.onRuntime?.(running, () => stopEvents?.());
    }
  }
  return done(!failed, failed?.step, failed?.error, report);
}

/** The names of the story's steps, in order (`--fail-at` takes one). */
export const STORY_STEPS = [
  'start the platform',
  'generate the dataset',
  'apply the feature repo',
  'ingest with validation',
  'materialize to the online store',
  'train v1 (pipeline: logistic baseline)',
  'deploy v1 through the canary',
  'serve traffic with entity keys',
  'train v2 (pipeline: GBDT challenger)',
  'shadow v2 on live traffic',
  'A/B test v1 vs v2',
  'delayed labels and live performance',
  'the shifted period arrives',
  'drift detected, alarm fires',
  'retraining starts by itself',
  'deploy the retrained version',
  'broken candidate rolled back',
] as const;
