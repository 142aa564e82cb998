import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { InvalidParameterError, MlopsError } from '../platform/errors';
import { readOnnxArtifact } from '../serving/inference/inspect';
import { ModelSignatureSchema } from '../serving/inference/signature';
import { readTable } from './data/read-table';
import { FsRunRecorder } from './recording/fs-run-recorder';
import type { SearchStrategy } from './search/trial-search';
import { executeTraining } from './trial/execute';
import { prepareTraining, type TrainRequest } from './trial/prepare';

interface TrainCliOptions {
  trainingSet: string;
  label: string;
  algorithm: string;
  splitColumn?: string;
  timeColumn?: string;
  testFraction?: string;
  threshold?: string;
  set: string[];
  features?: string;
  tune?: string;
  trials: string;
  tuneMetric?: string;
  searchSpace?: string;
  parallelism: string;
  seed: string;
  promotionRule?: string;
  production?: string;
  runsDir: string;
  format: 'text' | 'json';
}

async function readStructured(path: string, what: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new InvalidParameterError(`${what} file '${path}' cannot be read`);
  });
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new InvalidParameterError(
      `${what} file '${path}' is not valid YAML/JSON: ${(err as Error).message}`,
    );
  }
}

function parseSets(sets: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0)
      throw new InvalidParameterError(
        `--set '${s}' must look like name=value (e.g. --set learningRate=0.05)`,
      );
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidParameterError(`${flag} must be a number (got '${value}')`);
  return n;
}

/** Turns the CLI options into a validated request; reads every referenced file first. */
async function buildRequest(o: TrainCliOptions): Promise<TrainRequest> {
  let production: TrainRequest['production'];
  if (o.production) {
    const signature = ModelSignatureSchema.safeParse(
      await readStructured(join(o.production, 'signature.json'), 'Production signature'),
    );
    if (!signature.success)
      throw new InvalidParameterError(`Production model '${o.production}' has an invalid signature.json`);
    production = {
      version: o.production,
      onnx: await readOnnxArtifact(o.production),
      signature: signature.data,
    };
  }
  return {
    dataset: await readTable(o.trainingSet),
    label: o.label,
    algorithm: o.algorithm,
    options: parseSets(o.set),
    features: o.features
      ? ((await readStructured(o.features, 'Feature definitions')) as TrainRequest['features'])
      : undefined,
    splitColumn: o.splitColumn,
    timeColumn: o.timeColumn,
    testFraction: numberOption(o.testFraction, '--test-fraction'),
    threshold: numberOption(o.threshold, '--threshold'),
    tune: o.tune
      ? {
          strategy: o.tune as SearchStrategy,
          maxTrials: numberOption(o.trials, '--trials')!,
          metric: o.tuneMetric,
          space: o.searchSpace ? await readStructured(o.searchSpace, 'Search space') : undefined,
          parallelism: numberOption(o.parallelism, '--parallelism'),
          seed: numberOption(o.seed, '--seed'),
        }
      : undefined,
    promotionRule: o.promotionRule ? await readStructured(o.promotionRule, 'Promotion rule') : undefined,
    production,
  };
}

/**
 * Adds `mlops train` to a commander program. User mistakes exit with status 2 and the
 * message only; the run id and test metrics go to stdout (JSON with `--format json`).
 *
 * @example
 * const program = new Command('mlops');
 * registerTrainingCommands(program);
 * await program.parseAsync(process.argv);
 */
export function registerTrainingCommands(program: Command): void {
  program
    .command('train')
    .description('Train a built-in model, evaluate it on a held-out split and track it as a run')
    .requiredOption('--training-set <file>', 'CSV or Parquet file')
    .requiredOption('--label <column>', 'label column')
    .addOption(
      new Option('--algorithm <name>', 'built-in algorithm')
        .choices(['logistic', 'gbdt'])
        .makeOptionMandatory(),
    )
    .option(
      '--split-column <name>',
      "column whose 'train'/'test' values give the split (instead of the time-based one)",
    )
    .option('--time-column <name>', 'column ordering rows for the time-based split (default: file order)')
    .option('--test-fraction <share>', 'latest share of rows held out for testing', '0.2')
    .option('--threshold <p>', 'decision threshold for accuracy, precision, recall and F1', '0.5')
    .option(
      '--set <name=value>',
      'algorithm option, repeatable (e.g. --set C=0.5)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--features <file>', 'feature definitions (YAML/JSON list of {name, type, encoding, categories})')
    .addOption(new Option('--tune <strategy>', 'hyperparameter search').choices(['grid', 'random', 'tpe']))
    .option('--trials <n>', 'search trials', '10')
    .option('--tune-metric <name>', 'metric that picks the best trial (default: the promotion metric)')
    .option('--search-space <file>', 'search space (YAML/JSON: name -> {values} or {low, high, log, int})')
    .option('--parallelism <n>', 'trials run at once', '2')
    .option('--seed <n>', 'search seed', '0')
    .option('--promotion-rule <file>', 'promotion rule (YAML/JSON: {metric, minImprovement, guards})')
    .option(
      '--production <dir>',
      'current Production model directory (model.onnx + signature.json) to compare against',
    )
    .option('--runs-dir <dir>', 'where runs are recorded', '.mlops/runs')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: TrainCliOptions) => {
      try {
        const prepared = prepareTraining(await buildRequest(o));
        const recorder = await FsRunRecorder.start(o.runsDir, `train ${o.algorithm} ${o.label}`);
        const log = o.format === 'json' ? () => undefined : (m: string) => process.stderr.write(`${m}\n`);
        const outcome = await executeTraining(prepared, recorder, log);
        if (o.format === 'json') {
          process.stdout.write(
            `${JSON.stringify({
              run_id: outcome.runId,
              algorithm: outcome.algorithm,
              task: outcome.task,
              test_metrics: outcome.testMetrics,
              production_metrics: outcome.productionMetrics ?? null,
              promote: outcome.verdict.promote,
              reasons: outcome.verdict.reasons,
              iterations: outcome.iterations,
              best_trial: outcome.bestTrial ?? null,
            })}\n`,
          );
        } else {
          process.stdout.write(`run_id ${outcome.runId}\n`);
          for (const [k, v] of Object.entries(outcome.testMetrics))
            process.stdout.write(`${k.padEnd(10)} ${v.toFixed(6)}\n`);
          process.stdout.write(
            `promotion ${outcome.verdict.promote ? 'promote' : 'reject'}: ${outcome.verdict.reasons.join('; ')}\n`,
          );
        }
      } catch (err) {
        if (err instanceof MlopsError && err.status < 500) {
          process.stderr.write(`error: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
    });
}
