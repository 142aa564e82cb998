import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { InvalidParameterError, NotFoundError } from '../platform/errors';
import { FsObjectStore } from '../platform/fs-object-store';
import { formatNumber } from '../tracking/report/html';
import { textTable } from '../tracking/report/text-table';
import { csvTable } from './data/csv-table';
import type { DriftReport } from './drift/compare';
import type { DriftConfigInput } from './drift/config';
import { computeDrift } from './drift/run-drift';
import { latestReportKey, REPORTS_PREFIX } from './job/report-keys';
import { renderDriftHtml } from './report/drift-html';

/** The monitoring bucket's folder in a local data dir. */
const MONITORING_BUCKET = 'monitoring';

interface LocalOptions {
  dataDir: string;
  stage: string;
  model?: string;
}

/** One line per model version of a drift job run. */
export function jobSummary(results: readonly Record<string, unknown>[]): string {
  const rows = results.map((r) => [
    String(r.model),
    r.version === null ? '-' : String(r.version),
    String(r.rows),
    String(r.verdict),
    r.drifted ? 'yes' : 'no',
    r.published ? 'yes' : 'no',
    String((r.error as string | undefined) ?? (r.reasons as string[]).join('; ') ?? ''),
  ]);
  return `${textTable(['model', 'version', 'rows', 'verdict', 'drifted', 'retrain', 'why'], rows)}\n`;
}

/**
 * `mlops monitor run`: the drift job now, on the local runtime, as its schedule runs it: the
 * template's drift job state machine with the schedule's input (or `--window-hours`).
 */
async function runLocally(o: LocalOptions & { windowHours?: string }): Promise<void> {
  let windowHours: number | undefined;
  if (o.windowHours !== undefined) {
    windowHours = Number(o.windowHours);
    if (!(windowHours > 0))
      throw new InvalidParameterError(`--window-hours must be a positive number (got '${o.windowHours}')`);
  }
  const [{ startLocalRuntime }, { scheduledTargets }] = await Promise.all([
    import('../../local/runtime'),
    import('../../local/scheduler'),
  ]);
  const rt = await startLocalRuntime({ port: 0, dataDir: o.dataDir, config: { stage: o.stage } });
  try {
    const target = scheduledTargets(rt.plan).find((t) => /DriftJob/.test(t.stateMachine));
    if (!target) throw new NotFoundError('The synthesized template has no drift job schedule');
    const input = {
      ...(target.input as Record<string, unknown>),
      ...(windowHours !== undefined ? { windowHours } : {}),
      ...(o.model ? { models: [o.model] } : {}),
    };
    const name = `manual-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const run = await rt.stepFunctions.run(target.stateMachine, { name, input: input as never });
    if (run.status !== 'SUCCEEDED') {
      throw new InvalidParameterError(
        `The drift job failed: ${run.error?.Error ?? run.status} ${String(run.error?.Cause ?? '')}`,
      );
    }
    const out = run.output as { windowHours: number; results: Record<string, unknown>[] };
    process.stdout.write(`drift job over the last ${out.windowHours} h\n${jobSummary(out.results)}`);
    const reports = out.results.flatMap((r) => (r.report ? [(r.report as { html: string }).html] : []));
    for (const key of reports)
      process.stdout.write(`report: ${join(rt.dataDir, 's3', MONITORING_BUCKET, key)}\n`);
  } finally {
    await rt.stop();
  }
}

/** Opens a file with the desktop's viewer; a machine without one is told where the file is. */
function openFile(path: string): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [path], { detached: true, stdio: 'ignore' });
  child.on('error', () =>
    process.stderr.write(`could not open a viewer (${command}); the report is ${path}\n`),
  );
  child.unref();
}

/** `mlops monitor report`: the latest stored report (of a model, or of any), written to a file (and opened). */
async function latestReport(o: {
  dataDir: string;
  model?: string;
  out?: string;
  open?: boolean;
}): Promise<void> {
  const store = new FsObjectStore(join(resolve(o.dataDir), 's3'));
  const keys = o.model
    ? [latestReportKey(o.model)]
    : (await store.list(MONITORING_BUCKET, `${REPORTS_PREFIX}/`))
        .map((i) => i.key)
        .filter((k) => /^reports\/model=[^/]+\/latest\.json$/.test(k));
  const pointers: { model: string; html: string; version: string; at: string; verdict: string }[] = [];
  for (const key of keys) {
    const bytes = await store.get(MONITORING_BUCKET, key);
    if (bytes) pointers.push(JSON.parse(Buffer.from(bytes).toString('utf8')));
  }
  const latest = pointers.sort((a, b) => (a.at < b.at ? 1 : -1))[0];
  if (!latest) {
    throw new NotFoundError(
      `No drift report${o.model ? ` of '${o.model}'` : ''} in ${o.dataDir}: run the drift job first (mlops monitor run${o.model ? ` --model ${o.model}` : ''})`,
    );
  }
  const html = await store.get(MONITORING_BUCKET, latest.html);
  if (!html) throw new NotFoundError(`The report '${latest.html}' named by the latest run is missing`);
  const out = resolve(o.out ?? join(o.dataDir, 'reports', `${latest.model}-v${latest.version}.html`));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, html);
  process.stdout.write(
    `wrote ${out} (${latest.model} version ${latest.version}, ${latest.at}: ${latest.verdict})\n`,
  );
  if (o.open) openFile(out);
}

interface DriftCliOptions {
  baseline: string;
  current: string;
  format: 'json' | 'table' | 'html';
  out?: string;
  config?: string;
  prediction?: string;
  categorical?: string;
  minSamples?: string;
}

async function readConfig(path: string): Promise<DriftConfigInput> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new InvalidParameterError(`Drift configuration '${path}' cannot be read`);
  });
  try {
    return (parseYaml(text) ?? {}) as DriftConfigInput;
  } catch (err) {
    throw new InvalidParameterError(
      `Drift configuration '${path}' is not valid YAML/JSON: ${(err as Error).message}`,
    );
  }
}

/** The configuration file with the flags laid over it. */
async function buildConfig(o: DriftCliOptions): Promise<DriftConfigInput> {
  const config: Record<string, unknown> = o.config ? { ...(await readConfig(o.config)) } : {};
  if (o.prediction) config.prediction = o.prediction;
  if (o.minSamples !== undefined) {
    const n = Number(o.minSamples);
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidParameterError(`--min-samples must be a positive integer (got '${o.minSamples}')`);
    }
    config.minSamples = n;
  }
  if (o.categorical) {
    const features = { ...((config.features as Record<string, object> | undefined) ?? {}) };
    for (const name of o.categorical
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      features[name] = { ...(features[name] ?? {}), type: 'categorical' };
    }
    config.features = features;
  }
  return config as DriftConfigInput;
}

/** One line per feature for a terminal. */
export function driftTable(report: DriftReport): string {
  const all = report.prediction ? [report.prediction, ...report.features] : report.features;
  const f = (v: number | null | undefined) => (v === null || v === undefined ? '-' : formatNumber(v));
  const rows = all.map((d) => [
    d === report.prediction ? `${d.name} (prediction)` : d.name,
    d.type,
    d.verdict,
    `${d.test.method} ${d.test.method === 'ks' || d.test.method === 'chisquare' ? 'p <' : '>'} ${f(d.test.threshold)}`,
    f(d.test.score),
    f(d.scores?.psi),
    f(d.missingRateChange),
    `${d.baseline.count}/${d.current.count}`,
  ]);
  const s = report.summary;
  return (
    `${textTable(['feature', 'type', 'verdict', 'test', 'score', 'psi', 'missing Δ', 'count'], rows)}\n\n` +
    `dataset: ${s.verdict} (${s.drifted} of ${s.judged} judged features drifted; threshold share ${s.driftShareThreshold})\n`
  );
}

/**
 * Adds `mlops monitor drift` to a commander program: compares a current CSV with a
 * baseline CSV column by column and prints scores and verdicts (JSON, a table, or an HTML
 * report written to --out). Bad input exits 1 with a message and prints no report.
 *
 * @example
 * const program = new Command('mlops');
 * registerMonitoringCommands(program);
 * await program.parseAsync(['node', 'mlops', 'monitor', 'drift', '--baseline', 'a.csv', '--current', 'b.csv']);
 */
export function registerMonitoringCommands(program: Command): Command {
  const monitor = program
    .command('monitor')
    .description('Model monitoring: data and prediction drift, the drift job and its reports');
  monitor
    .command('drift')
    .description('Compare a current CSV with a baseline CSV: per-feature drift scores and verdicts')
    .requiredOption('--baseline <csv>', 'baseline data (e.g. the training or test set)')
    .requiredOption('--current <csv>', 'current window, with the same columns')
    .addOption(
      new Option('--format <format>', 'output format').choices(['json', 'table', 'html']).default('table'),
    )
    .option('--out <file>', 'write the output to a file (required for --format html)')
    .option(
      '--config <file>',
      'YAML/JSON drift configuration (per-feature method and threshold, minSamples, ...)',
    )
    .option('--prediction <column>', 'column holding the model prediction (reported apart from the features)')
    .option('--categorical <columns>', 'comma-separated columns to treat as categorical')
    .option('--min-samples <n>', 'fewer non-missing values than this gives insufficient_data (default 100)')
    .action(async (o: DriftCliOptions) => {
      if (o.format === 'html' && !o.out) throw new InvalidParameterError('--format html needs --out <file>');
      const config = await buildConfig(o);
      const { report, summaries } = await computeDrift(csvTable(o.baseline), csvTable(o.current), config);
      const text =
        o.format === 'json'
          ? `${JSON.stringify(report, null, 2)}\n`
          : o.format === 'html'
            ? renderDriftHtml(report, summaries, { baseline: o.baseline, current: o.current })
            : driftTable(report);
      if (o.out) {
        await writeFile(o.out, text);
        process.stdout.write(`wrote ${o.out} (dataset: ${report.summary.verdict})\n`);
      } else process.stdout.write(text);
    });
  monitor
    .command('run')
    .description(
      "Run the drift job now on the local runtime (the template's state machine, as its schedule runs it)",
    )
    .option('--model <name>', 'only this model (default: the served model)')
    .option(
      '--window-hours <h>',
      'hours of logged traffic to compare, ending now (default: the configured window)',
    )
    .option('--data-dir <dir>', 'local data directory', '.mlops')
    .option('--stage <stage>', 'stage the local platform runs as', 'local')
    .action((o: LocalOptions & { windowHours?: string }) => runLocally(o));
  monitor
    .command('report')
    .description('Write the latest drift report of a model (HTML) from the local data dir, and open it')
    .option('--model <name>', 'the model (default: whichever model the latest run compared)')
    .option('--out <file>', 'where to write it (default: <data-dir>/reports/<model>-v<version>.html)')
    .option('--open', 'open it in the browser')
    .option('--data-dir <dir>', 'local data directory', '.mlops')
    .action((o: { dataDir: string; model?: string; out?: string; open?: boolean }) => latestReport(o));
  return monitor;
}
