import { type Command, Option } from 'commander';
import { z } from 'zod';
import { cliAction } from '../platform/cli-action';
import { InvalidParameterError } from '../platform/errors';
import { createMlflowClient } from '../tracking/client/mlflow-client';
import { parseAllocation } from './allocation';
import { ExperimentSchema } from './api/routes';

type Experiment = z.infer<typeof ExperimentSchema>;

interface ApiOpts {
  apiUrl?: string;
  format: 'table' | 'json';
}

interface CreateOpts extends ApiOpts {
  model?: string;
  control?: string;
  treatment?: string;
  allocation?: string;
  salt?: string;
}

/** An experiment as one line: id, model, versions, shares, status and the times it changed. */
export function experimentLine(e: Experiment): string {
  const pct = (x: number) => `${Number((x * 100).toFixed(4))}%`;
  return [
    e.id,
    `model ${e.model}`,
    `control v${e.control_version} ${pct(e.allocation.control)}`,
    `treatment v${e.treatment_version} ${pct(e.allocation.treatment)}`,
    e.status,
    `created ${e.created_at}`,
    ...(e.stopped_at ? [`stopped ${e.stopped_at}`] : []),
    ...(e.status_message ? [`(${e.status_message})`] : []),
  ].join('  ');
}

/**
 * The create body from the options: an allocation names exactly `control` and `treatment`
 * and sums to 100%; checked here so a typo is named before any request.
 *
 * @example
 * createBody('e1', { model: 'churn', control: '1', treatment: '2', allocation: 'control=0.5,treatment=0.5', format: 'table' });
 */
export function createBody(name: string, o: CreateOpts): Record<string, unknown> {
  const missing = (['model', 'control', 'treatment'] as const).filter((k) => !o[k]);
  if (missing.length > 0)
    throw new InvalidParameterError(
      `experiments create needs ${missing.map((m) => `--${m}`).join(', ')} (the model and its two registered versions)`,
    );
  const body: Record<string, unknown> = {
    name,
    model: o.model,
    control_version: o.control,
    treatment_version: o.treatment,
  };
  if (o.allocation !== undefined) {
    const shares = parseAllocation(o.allocation);
    const names = shares.map((v) => v.name);
    if (names.length !== 2 || !names.includes('control') || !names.includes('treatment'))
      throw new InvalidParameterError(
        `--allocation names the arms control and treatment, e.g. control=0.9,treatment=0.1; got ${names.join(', ')}`,
      );
    body.allocation = Object.fromEntries(shares.map((v) => [v.name, v.share]));
  }
  if (o.salt !== undefined) body.salt = o.salt;
  return body;
}

const apiOptions = (c: Command) =>
  c
    .option('--api-url <url>', 'the platform API (default: MLOPS_API_URL, else the local gateway)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'));

const one = z.object({ experiment: ExperimentSchema });
const many = z.object({ experiments: z.array(ExperimentSchema) });

/**
 * Adds `create`, `list`, `show` and `stop` under `mlops experiments`: each calls the
 * experiment routes (`/v1/experiments`, SigV4 for an API Gateway URL) and prints one line
 * per experiment, or the API's JSON with `--format json`. The API's refusals (an unknown
 * version, a model with a running experiment) print as `error: <message>`, exit code 1.
 *
 * @example
 * registerLifecycleCommands(new Command('mlops').command('experiments'));
 */
export function registerLifecycleCommands(experiments: Command): void {
  const print = (o: ApiOpts, body: unknown, lines: string[]) =>
    console.log(o.format === 'json' ? JSON.stringify(body, null, 2) : lines.join('\n'));
  const client = (o: ApiOpts) => createMlflowClient(o.apiUrl ? { apiUrl: o.apiUrl } : {});
  const path = (id: string) => `/v1/experiments/${encodeURIComponent(id)}`;

  apiOptions(
    experiments
      .command('create <name>')
      .description('start an A/B test of two registered versions of a model (the name is its id)')
      .option('--model <name>', 'registered model')
      .option('--control <version>', 'control version (the arm most units see)')
      .option('--treatment <version>', 'treatment version')
      .option('--allocation <shares>', 'shares of units, summing to 1 (default control=0.9,treatment=0.1)')
      .option('--salt <salt>', 'salt of the assignment hash (default: the name)'),
  ).action(
    cliAction(async (name: string, o: CreateOpts) => {
      const body = one.parse(await client(o).call('POST', '/v1/experiments', createBody(name, o)));
      print(o, body, [experimentLine(body.experiment)]);
    }),
  );

  apiOptions(
    experiments
      .command('list')
      .description("a model's experiments, newest first")
      .option('--model <name>', 'registered model'),
  ).action(
    cliAction(async (o: ApiOpts & { model?: string }) => {
      if (!o.model) throw new InvalidParameterError('experiments list needs --model <name>');
      const body = many.parse(await client(o).call('GET', '/v1/experiments', { model: o.model }));
      print(
        o,
        body,
        body.experiments.length
          ? body.experiments.map(experimentLine)
          : [`no experiments on model '${o.model}'`],
      );
    }),
  );

  apiOptions(experiments.command('show <id>').description('an experiment and its status')).action(
    cliAction(async (id: string, o: ApiOpts) => {
      const body = one.parse(await client(o).call('GET', path(id)));
      print(o, body, [experimentLine(body.experiment)]);
    }),
  );

  apiOptions(
    experiments
      .command('stop <id>')
      .description('stop assigning units (outcomes are still accepted); stopping twice is fine'),
  ).action(
    cliAction(async (id: string, o: ApiOpts) => {
      const body = one.parse(await client(o).call('POST', `${path(id)}/stop`, {}));
      print(o, body, [experimentLine(body.experiment)]);
    }),
  );
}
