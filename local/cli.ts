import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { InvalidParameterError, MlopsError } from '../lambdas/platform/errors';
import { createMlflowClient } from '../lambdas/tracking/client/mlflow-client';
import { loadComparison } from '../lambdas/tracking/report/compare-data';
import { renderComparePage } from '../lambdas/tracking/report/compare-page';
import { routeEvents } from './event-rules';
import { failedStep, runPipeline } from './pipeline';
import { type LocalRuntime, startLocalRuntime } from './runtime';
import { startSchedules } from './scheduler';
import { demoInput } from './start';
import { type StartOptions, start } from './story/start-command';
import { STORY_STEPS } from './story/story';

interface RuntimeOptions {
  port: string;
  dataDir: string;
  stage: string;
  verbose?: boolean;
  /** Require SigV4 and authorize by the access roles (`mlops up --auth`). */
  auth?: boolean;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidParameterError(`--port must be an integer from 0 to 65535, got '${value}'`);
  }
  return port;
}

function startRuntime(
  opts: RuntimeOptions,
  out: NodeJS.WritableStream,
  extra: { console?: boolean } = {},
): Promise<LocalRuntime> {
  return startLocalRuntime({
    ...extra,
    port: parsePort(opts.port),
    dataDir: opts.dataDir,
    config: { stage: opts.stage },
    logLevel: opts.verbose ? 'INFO' : 'WARN',
    auth: opts.auth,
    onProgress: (m) => out.write(`  ${m}\n`),
  });
}

/** Starts the runtime and prints where everything is. */
export async function up(
  opts: RuntimeOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<LocalRuntime> {
  const rt = await startRuntime(opts, out, { console: true });
  out.write(`\nserverless-mlops is running locally\n`);
  out.write(`  API            ${rt.url}  (${rt.plan.routes.length} routes from the synthesized template)\n`);
  out.write(`  health         ${rt.url}/health\n`);
  if (rt.consoleUrl) out.write(`  console        ${rt.consoleUrl}\n`);
  out.write(`  MLflow         MLFLOW_TRACKING_URI=${rt.url}\n`);
  out.write(`  DynamoDB       ${rt.dynamodbEndpoint}  (dynalite, data in ${rt.dataDir}/dynamodb)\n`);
  out.write(`  S3             ${rt.dataDir}/s3/<bucket>/<key>\n`);
  out.write(`  state machines ${[...rt.stepFunctions.machines.keys()].join(', ') || '(none)'}\n`);
  if (rt.credentials) {
    out.write(
      `\nIAM authorization is on: sign requests with a role's key (in ${rt.dataDir}/credentials.json)\n`,
    );
    for (const c of rt.credentials) out.write(`  ${c.role.padEnd(15)}AWS_ACCESS_KEY_ID=${c.accessKeyId}\n`);
    out.write(
      '  then            MLOPS_API_SIGV4=true AWS_SECRET_ACCESS_KEY=<its secretAccessKey> npx mlops ...\n',
    );
  }
  out.write(`Press Ctrl+C to stop; data stays in ${rt.dataDir}.\n`);
  return rt;
}

/** Resolves when SIGINT or SIGTERM arrives, after stopping the runtime cleanly. */
export function stopOnSignal(rt: LocalRuntime, before: () => void = () => undefined): Promise<void> {
  return new Promise((resolve) => {
    const stop = async (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.stdout.write(`\n${signal}: stopping...\n`);
      before();
      await rt.stop();
      process.stdout.write('stopped\n');
      resolve();
    };
    const onInt = () => void stop('SIGINT');
    const onTerm = () => void stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

interface PipelineOptions extends RuntimeOptions {
  name?: string;
  input?: string;
  featureService?: string;
  entityRows?: string;
  label?: string;
  modelName?: string;
  algorithm?: string;
  strategy?: string;
  trials?: string;
  trigger?: string;
}

/** Runs the pipeline on a started runtime, prints progress and a summary; returns the exit code. */
async function runAndReport(
  rt: LocalRuntime,
  name: string,
  input: Record<string, unknown>,
  out: NodeJS.WritableStream,
): Promise<number> {
  out.write(`\nrunning the training pipeline (${name}) from the synthesized state machine\n`);
  const started = performance.now();
  const r = await runPipeline(rt, { name, input, progress: (l) => out.write(`${l}\n`) });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (r.reused) out.write(`execution '${name}' ran before (${r.status}); not training again\n`);
  const state = (r.output ?? {}) as Record<string, any>;
  if (r.status !== 'SUCCEEDED') {
    const failure = state.failure as { error?: string; message?: string } | undefined;
    out.write(`\npipeline FAILED after ${seconds}s at step '${failedStep(r) ?? 'unknown'}'\n`);
    out.write(`  ${failure?.message ?? r.error?.Cause ?? ''}\n`);
    if (state.run?.runId)
      out.write(
        `  run ${state.run.runId} is marked FAILED; notification in ${rt.dataDir}/events/notifications.jsonl\n`,
      );
    return 1;
  }
  const metrics = (state.candidate?.testMetrics ?? {}) as Record<string, number>;
  out.write(`\npipeline succeeded in ${seconds}s\n`);
  out.write(
    `  training set   ${state.trainingSet?.rows} rows, digest ${String(state.trainingSet?.digest).slice(0, 16)}…\n`,
  );
  out.write(
    `  search         ${state.plan?.count} trials, best #${state.candidate?.bestTrial} by ${state.plan?.metric}\n`,
  );
  const shown = ['auc', 'log_loss', 'accuracy', 'f1', 'brier', 'rmse', 'r2'].filter((k) => k in metrics);
  out.write(`  test metrics   ${shown.map((k) => `${k}=${metrics[k]?.toFixed(4)}`).join('  ')}\n`);
  out.write(`  tracked run    ${state.run?.runId} (experiment ${state.run?.experimentId})\n`);
  if (state.registration) {
    out.write(
      `  registered     ${state.registration.modelName} version ${state.registration.version} → ${state.registration.stage}\n`,
    );
  } else {
    out.write(`  not promoted   ${(state.evaluation?.reasons ?? []).join('; ')}\n`);
  }
  // The comparison page of the trained candidate and the search's trials, written while
  // the platform is up: training curves per step, metrics and parameters side by side.
  const trialRuns = [
    state.run?.runId,
    // Inline results only: a Distributed Map's are in S3 (and too many for one page).
    ...(Array.isArray(state.trialResults) ? state.trialResults : []).map((t: { runId: string }) => t.runId),
  ].filter(Boolean) as string[];
  const page = join(rt.dataDir, 'reports', `trials-${name}.html`);
  const client = createMlflowClient({ apiUrl: rt.url });
  await mkdir(dirname(page), { recursive: true });
  await writeFile(page, renderComparePage(await loadComparison(client.tracking, trialRuns)));
  out.write(`\nwhere to look (for the commands, first: npx mlops up)\n`);
  out.write(`  compare page   ${page}\n`);
  out.write(`  the run        npx mlops runs show ${state.run?.runId}\n`);
  out.write(`  the registry   npx mlops models show ${state.input?.modelName}\n`);
  out.write(`  artifacts      ${rt.dataDir}/s3/artifacts/\n`);
  return 0;
}

function pipelineInput(o: PipelineOptions, defaults: Record<string, unknown>): Record<string, unknown> {
  if (o.input) {
    try {
      return JSON.parse(readFileSync(o.input, 'utf8'));
    } catch (err) {
      throw new InvalidParameterError(`--input ${o.input}: ${(err as Error).message}`);
    }
  }
  const training = { ...(defaults.training as object) } as Record<string, unknown>;
  if (o.algorithm) training.algorithm = o.algorithm;
  if (o.strategy) training.strategy = o.strategy;
  if (o.trials) training.maxTrials = Number(o.trials);
  return {
    ...defaults,
    ...(o.featureService ? { featureService: o.featureService } : {}),
    ...(o.entityRows ? { entityRows: o.entityRows } : {}),
    ...(o.label ? { label: o.label } : {}),
    ...(o.modelName ? { modelName: o.modelName } : {}),
    ...(o.trigger ? { trigger: o.trigger } : {}),
    training,
  };
}

/** `mlops up`, `mlops start` (the main job) and `mlops pipeline run`. */
export function registerLocalCommands(program: Command): void {
  const withRuntimeOptions = (cmd: Command, port = '4566') =>
    cmd
      .option('--port <n>', 'gateway port on 127.0.0.1 (0: any free port)', port)
      .option('--data-dir <dir>', 'where local data persists', '.mlops')
      .option('--stage <name>', 'stage name of the local platform', 'local')
      .option('--verbose', 'log every request');

  withRuntimeOptions(
    program
      .command('up')
      .description('start the platform locally (DynamoDB, S3, the API and schedules from the CDK app)')
      .option(
        '--auth',
        "require SigV4-signed requests, authorized by the access roles' policies (docs/security.md)",
      ),
  ).action(async (opts: RuntimeOptions) => {
    const rt = await up(opts);
    const stopSchedules = startSchedules(
      rt.plan,
      rt.stepFunctions,
      (l) => process.stdout.write(`[schedule] ${l}\n`),
      undefined,
      rt.lambda,
    );
    const stopEvents = routeEvents(rt.plan, rt.dataDir, rt.stepFunctions, (l) =>
      process.stdout.write(`[events] ${l}\n`),
    );
    await stopOnSignal(rt, () => {
      stopSchedules();
      stopEvents();
    });
  });

  program
    .command('start')
    .description(
      'the main job: the whole ML lifecycle on the local platform, from generated data to drift, retraining and an automatic rollback',
    )
    .option('--users <n>', 'users in the generated dataset', '2000')
    .option('--days <n>', 'days of purchase history', '180')
    .option('--seed <n>', 'seed of the generated dataset', '42')
    .option('--data-dir <dir>', 'where local data persists (reused when it exists)', '.mlops')
    .option('--reset', 'delete the data dir first and start from nothing')
    .option('--keep', 'leave the platform running afterwards (Ctrl-C stops it)')
    .option('--port <n>', 'gateway port on 127.0.0.1 (default: 4566 with --keep, else any free port)')
    .option('--trials <n>', 'hyperparameter trials of the challenger and of retraining', '6')
    .option('--bake-seconds <n>', 'canary bake time per traffic step', '2')
    .option('--verbose', "print the functions' logs")
    .option(
      '--fail-at <step>',
      `make a step fail, to see how a failure is reported (${STORY_STEPS.length} steps: '${STORY_STEPS[0]}' … '${STORY_STEPS.at(-1)}')`,
    )
    .action(async (opts: StartOptions) => {
      process.exitCode = await start(opts);
    });

  const pipeline = program.command('pipeline').description('the training pipeline (Step Functions)');
  withRuntimeOptions(
    pipeline.command('run').description('run the synthesized pipeline locally, with progress per state'),
    '0',
  )
    .option('--name <name>', 'execution name; a name that ran before is not run again')
    .option('--input <file>', 'JSON input (otherwise built from the options and the configuration)')
    .option('--feature-service <name>')
    .option('--entity-rows <key>', 'entity rows key under labels/ in the features bucket')
    .option('--label <column>')
    .option('--model-name <name>')
    .option('--algorithm <gbdt|logistic>')
    .option('--strategy <grid|random>')
    .option('--trials <n>')
    .option('--trigger <manual|schedule|drift>', 'why it runs', 'manual')
    .action(async (opts: PipelineOptions) => {
      const rt = await startRuntime(opts, process.stdout);
      try {
        const defaults = demoInput({ landing: [], entityRows: '', counts: {} as never });
        const input = pipelineInput(opts, {
          ...defaults,
          landing: [],
          entityRows: opts.entityRows ?? defaults.entityRows,
        });
        const name = opts.name ?? `manual-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        const code = await runAndReport(rt, name, input, process.stdout);
        if (code !== 0) throw new MlopsError('INVALID_STATE', 'the training pipeline failed (see above)');
      } finally {
        await rt.stop();
      }
    });
}
