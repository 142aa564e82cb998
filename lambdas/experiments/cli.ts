import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { cliAction } from '../platform/cli-action';
import { InvalidParameterError } from '../platform/errors';
import { createMlflowClient } from '../tracking/client/mlflow-client';
import { parseAllocation } from './allocation';
import { analyzeExperiment } from './analysis/analyze';
import { readOutcomeCsv } from './analysis/outcome-csv';
import { reportText } from './analysis/report-text';
import { type AnalysisReport, AnalysisReportSchema, type Metric } from './analysis/result';
import { registerLifecycleCommands } from './lifecycle-cli';

interface AnalyzeOpts {
  data?: string;
  allocation?: string;
  apiUrl?: string;
  mde: string;
  power: string;
  alpha: string;
  primary: Metric;
  format: 'table' | 'json';
}

/**
 * Adds `experiments` to the `mlops` CLI: `create`, `list`, `show` and `stop` (`lifecycle-cli.ts`),
 * and `analyze`: `analyze <id>` asks the platform's API
 * for a live experiment's analysis (`GET /v1/experiments/{id}/analysis`), and
 * `analyze --data <csv> --allocation control=0.9,treatment=0.1` runs the same analysis over
 * a CSV of `variant,unit_id,converted,value` rows, for teams whose outcomes live elsewhere.
 * Bad input prints `error: <message>` and exits 1.
 *
 * @example
 * const program = new Command('mlops');
 * registerExperimentCommands(program);
 * await program.parseAsync(['experiments', 'analyze', '--data', 'o.csv', '--allocation', 'control=0.5,treatment=0.5'], { from: 'user' });
 */
export function registerExperimentCommands(program: Command): void {
  const experiments = program
    .command('experiments')
    .description('online experiments (A/B tests): create, list, show, stop, analyze');
  registerLifecycleCommands(experiments);
  experiments
    .command('analyze [id]')
    .description(
      "analyse an A/B test: a live experiment's stored outcomes by id, or a CSV of variant,unit_id,converted,value rows (one per unit)",
    )
    .option('--data <csv>', 'outcome CSV with the header variant,unit_id,converted,value')
    .option(
      '--allocation <shares>',
      'with --data: planned shares, control first, e.g. control=0.9,treatment=0.1',
    )
    .option(
      '--api-url <url>',
      'with an id: the platform API (default: MLOPS_API_URL, else the local gateway)',
    )
    .option('--mde <relative>', 'minimum detectable effect, relative to the control (0.02 = 2%)', '0.02')
    .option('--power <p>', 'power for the sample size', '0.8')
    .option('--alpha <a>', 'significance level', '0.05')
    .addOption(
      new Option('--primary <metric>', 'metric the decision follows')
        .choices(['conversion', 'value'])
        .default('conversion'),
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(
      cliAction(async (id: string | undefined, o: AnalyzeOpts) => {
        const options = {
          mdeRelative: number(o.mde, '--mde'),
          power: number(o.power, '--power'),
          alpha: number(o.alpha, '--alpha'),
          primaryMetric: o.primary,
        };
        const report = id !== undefined ? await analyzeLive(id, o, options) : await analyzeCsv(o, options);
        console.log(o.format === 'json' ? JSON.stringify(report, null, 2) : reportText(report));
      }),
    );
}

/** A live experiment's analysis from the API. */
async function analyzeLive(
  id: string,
  o: AnalyzeOpts,
  options: { mdeRelative: number; power: number; alpha: number; primaryMetric: Metric },
): Promise<AnalysisReport> {
  if (o.data !== undefined || o.allocation !== undefined) {
    throw new InvalidParameterError(
      'give either an experiment id or --data with --allocation, not both: a live experiment has its own allocation',
    );
  }
  const { call } = createMlflowClient(o.apiUrl ? { apiUrl: o.apiUrl } : {});
  const body = await call('GET', `/v1/experiments/${encodeURIComponent(id)}/analysis`, {
    mde: options.mdeRelative,
    power: options.power,
    alpha: options.alpha,
    primary: options.primaryMetric,
  });
  return AnalysisReportSchema.parse(body);
}

/** The analysis of an outcome CSV, read once, streaming. */
async function analyzeCsv(
  o: AnalyzeOpts,
  options: { mdeRelative: number; power: number; alpha: number; primaryMetric: Metric },
): Promise<AnalysisReport> {
  if (o.data === undefined || o.allocation === undefined) {
    throw new InvalidParameterError(
      'give an experiment id (mlops experiments analyze <id>) or --data <csv> with --allocation control=0.9,treatment=0.1',
    );
  }
  const allocation = parseAllocation(o.allocation);
  const info = await stat(o.data).catch(() => undefined);
  if (!info?.isFile()) throw new InvalidParameterError(`--data: no such file '${o.data}'`);
  const totals = await readOutcomeCsv(
    createReadStream(o.data, { highWaterMark: 1 << 20 }),
    allocation.map((v) => v.name),
    o.data,
  );
  return analyzeExperiment(allocation, totals, options);
}

function number(text: string, flag: string): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x))
    throw new InvalidParameterError(`${flag} must be a number, got '${text}'`);
  return x;
}
