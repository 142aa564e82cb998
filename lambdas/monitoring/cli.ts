import { readFile, writeFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { InvalidParameterError } from '../platform/errors';
import { formatNumber } from '../tracking/report/html';
import { textTable } from '../tracking/report/text-table';
import { csvTable } from './data/csv-table';
import type { DriftReport } from './drift/compare';
import type { DriftConfigInput } from './drift/config';
import { computeDrift } from './drift/run-drift';
import { renderDriftHtml } from './report/drift-html';

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
  const monitor = program.command('monitor').description('Model monitoring: data and prediction drift');
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
  return monitor;
}
