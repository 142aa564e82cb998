import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { cliAction } from '../platform/cli-action';
import { InvalidParameterError } from '../platform/errors';
import { createMlflowClient, type MlflowClient } from './client/mlflow-client';
import type { Stage } from './client/types';
import { modelsText, modelText, runsText, runText } from './report/cli-text';
import { loadComparison } from './report/compare-data';
import { renderComparePage } from './report/compare-page';

interface Common {
  apiUrl?: string;
}
interface ListOpts extends Common {
  filter?: string;
  orderBy: string[];
  maxResults: string;
  format: 'table' | 'json';
}

/**
 * Adds `runs list | show | compare` and `models list | show | promote | alias` to the
 * `mlops` CLI, all over the platform's MLflow API (`--api-url`, else `MLOPS_API_URL`, else
 * the local gateway; SigV4-signed on AWS). API and user errors print `error: <message>`
 * and exit 1.
 *
 * @example
 * const program = new Command('mlops');
 * registerTrackingCommands(program);
 * await program.parseAsync(['runs', 'compare', runA, runB], { from: 'user' });
 */
export function registerTrackingCommands(program: Command): void {
  const withApi = (c: Command) =>
    c.option('--api-url <url>', 'platform API (default: $MLOPS_API_URL, else http://127.0.0.1:4566)');
  const format = (choices: string[]) =>
    new Option('--format <format>', 'output format').choices(choices).default(choices[0]);
  const listing = (c: Command) =>
    withApi(c)
      .option('--filter <expr>', 'MLflow filter, e.g. "metrics.auc > 0.8 and params.model = \'gbdt\'"')
      .option('--order-by <clause>', "order, repeatable (e.g. 'metrics.auc DESC')", collect, [])
      .option('--max-results <n>', 'at most this many', '100')
      .addOption(format(['table', 'json']));

  const runs = program.command('runs').description('tracked runs: list, show, compare');
  listing(runs.command('list').description('list runs, newest first'))
    .option('--experiment <name|id>', 'one experiment (default: all active experiments)')
    .action(
      cliAction(async (o: ListOpts & { experiment?: string }) => {
        const maxResults = positive(o.maxResults, '--max-results');
        const { tracking } = client(o);
        const experimentIds = o.experiment
          ? [(await tracking.findExperiment(o.experiment)).experiment_id]
          : (await tracking.searchExperiments()).map((e) => e.experiment_id);
        const found = experimentIds.length
          ? await tracking.searchRuns({
              experimentIds,
              filter: o.filter,
              orderBy: o.orderBy.length ? o.orderBy : undefined,
              maxResults,
            })
          : [];
        console.log(o.format === 'json' ? JSON.stringify(found, null, 2) : runsText(found));
      }),
    );

  withApi(runs.command('show').description("a run's info, params, metrics and tags").argument('<run_id>'))
    .addOption(format(['text', 'json']))
    .action(
      cliAction(async (runId: string, o: Common & { format: string }) => {
        const run = await client(o).tracking.getRun(runId);
        console.log(o.format === 'json' ? JSON.stringify(run, null, 2) : runText(run));
      }),
    );

  withApi(
    runs
      .command('compare')
      .description('write an HTML page: metric curves by step, params and tags side by side')
      .argument('<run_ids...>'),
  )
    .option('--output <file>', 'HTML file (default: .mlops/reports/compare-<ids>.html)')
    .action(
      cliAction(async (runIds: string[], o: Common & { output?: string }) => {
        const compared = await loadComparison(client(o).tracking, runIds);
        const file = resolve(o.output ?? defaultReportPath(runIds));
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, renderComparePage(compared));
        console.log(file);
      }),
    );

  const models = program.command('models').description('model registry: list, show, promote, alias');
  listing(models.command('list').description('list registered models')).action(
    cliAction(async (o: ListOpts) => {
      const found = await client(o).registry.searchModels({
        filter: o.filter,
        orderBy: o.orderBy.length ? o.orderBy : undefined,
        maxResults: positive(o.maxResults, '--max-results'),
      });
      console.log(o.format === 'json' ? JSON.stringify(found, null, 2) : modelsText(found));
    }),
  );

  withApi(models.command('show').description('a model, its versions, stages and aliases').argument('<name>'))
    .addOption(format(['text', 'json']))
    .action(
      cliAction(async (name: string, o: Common & { format: string }) => {
        const { registry } = client(o);
        const model = await registry.getModel(name);
        const versions = await registry.listVersions(name);
        console.log(
          o.format === 'json' ? JSON.stringify({ ...model, versions }, null, 2) : modelText(model, versions),
        );
      }),
    );

  withApi(
    models
      .command('promote')
      .description('move a version to a stage')
      .argument('<name>')
      .argument('<version>'),
  )
    .addOption(
      new Option('--stage <stage>', 'target stage')
        .choices(['Staging', 'Production', 'Archived'])
        .makeOptionMandatory(),
    )
    .option('--archive-existing', 'archive the versions already in that stage')
    .action(
      cliAction(
        async (name: string, version: string, o: Common & { stage: Stage; archiveExisting?: boolean }) => {
          const { registry } = client(o);
          const before = await registry.getVersion(name, version);
          const after = await registry.transitionStage(name, version, o.stage, {
            archiveExisting: o.archiveExisting ?? false,
          });
          console.log(`${name} version ${version}: ${before.current_stage} -> ${after.current_stage}`);
        },
      ),
    );

  withApi(
    models
      .command('alias')
      .description('point an alias at a version, or delete it with --delete')
      .argument('<name>')
      .argument('<alias>')
      .argument('[version]'),
  )
    .option('--delete', 'delete the alias')
    .action(
      cliAction(
        async (
          name: string,
          alias: string,
          version: string | undefined,
          o: Common & { delete?: boolean },
        ) => {
          const { registry } = client(o);
          if (o.delete) {
            if (version !== undefined)
              throw new InvalidParameterError(
                `--delete takes no version: run \`mlops models alias ${name} ${alias} --delete\``,
              );
            await registry.deleteAlias(name, alias);
            console.log(`${name}: deleted alias @${alias}`);
            return;
          }
          if (version === undefined)
            throw new InvalidParameterError(
              `give the version for @${alias}: \`mlops models alias ${name} ${alias} <version>\` (or --delete)`,
            );
          await registry.setAlias(name, alias, version);
          console.log(`${name}: @${alias} -> version ${version}`);
        },
      ),
    );
  withApi(
    models
      .command('export')
      .description("write a version's ONNX file, signature and sha256 to a folder (edge deployment)")
      .argument('<name>')
      .argument('<version>')
      .requiredOption('--out <dir>', 'folder to write model.onnx, signature.json and model.onnx.sha256 to'),
  ).action(
    cliAction(async (name: string, version: string, o: Common & { out: string }) => {
      const { exportModel } = await import('../serving/cli');
      console.log(`wrote ${await exportModel({ name, version, out: o.out, apiUrl: o.apiUrl })}`);
    }),
  );
}

/** Where `runs compare` writes by default; ids are shortened when the name would grow too long. */
export function defaultReportPath(runIds: string[]): string {
  const ids = [...new Set(runIds)];
  const full = ids.join('-');
  return join(
    '.mlops',
    'reports',
    `compare-${
      full.length <= 180
        ? full
        : ids
            .map((i) => i.slice(0, 8))
            .join('-')
            .slice(0, 180)
    }.html`,
  );
}

function client(o: Common): MlflowClient {
  return createMlflowClient({ apiUrl: o.apiUrl });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidParameterError(`${flag} must be a positive whole number (got '${value}')`);
  return n;
}
