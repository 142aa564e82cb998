import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { cliAction } from '../platform/cli-action';
import { InvalidParameterError } from '../platform/errors';
import { parseAllocation } from './allocation';
import { analyzeExperiment } from './analysis/analyze';
import { readOutcomeCsv } from './analysis/outcome-csv';
import { reportText } from './analysis/report-text';
import type { Metric } from './analysis/result';

interface AnalyzeOpts {
  data: string;
  allocation: string;
  mde: string;
  power: string;
  alpha: string;
  primary: Metric;
  format: 'table' | 'json';
}

/**
 * Adds `experiments analyze --data <csv> --allocation control=0.9,treatment=0.1` to the
 * `mlops` CLI: the experiment analysis over a CSV of `variant,unit_id,converted,value`
 * rows, for teams whose outcomes live elsewhere. Bad input prints `error: <message>` and
 * exits 1.
 *
 * @example
 * const program = new Command('mlops');
 * registerExperimentCommands(program);
 * await program.parseAsync(['experiments', 'analyze', '--data', 'o.csv', '--allocation', 'control=0.5,treatment=0.5'], { from: 'user' });
 */
export function registerExperimentCommands(program: Command): void {
  const experiments = program.command('experiments').description('online experiments (A/B tests): analysis');
  experiments
    .command('analyze')
    .description('analyse an A/B test from a CSV of variant,unit_id,converted,value rows (one per unit)')
    .requiredOption('--data <csv>', 'outcome CSV with the header variant,unit_id,converted,value')
    .requiredOption('--allocation <shares>', 'planned shares, control first, e.g. control=0.9,treatment=0.1')
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
      cliAction(async (o: AnalyzeOpts) => {
        const allocation = parseAllocation(o.allocation);
        const options = {
          mdeRelative: number(o.mde, '--mde'),
          power: number(o.power, '--power'),
          alpha: number(o.alpha, '--alpha'),
          primaryMetric: o.primary,
        };
        const info = await stat(o.data).catch(() => undefined);
        if (!info?.isFile()) throw new InvalidParameterError(`--data: no such file '${o.data}'`);
        const totals = await readOutcomeCsv(
          createReadStream(o.data, { highWaterMark: 1 << 20 }),
          allocation.map((v) => v.name),
          o.data,
        );
        const report = analyzeExperiment(allocation, totals, options);
        console.log(o.format === 'json' ? JSON.stringify(report, null, 2) : reportText(report));
      }),
    );
}

function number(text: string, flag: string): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x))
    throw new InvalidParameterError(`${flag} must be a number, got '${text}'`);
  return x;
}
