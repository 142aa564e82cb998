import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Command } from 'commander';
import { localDynamoClients } from '../../../local/engines/dynamodb';
import { type LocalRuntime, startLocalRuntime } from '../../../local/runtime';
import { InvalidParameterError, InvalidStateError, MlopsError } from '../../platform/errors';
import { createMlflowClient } from '../../tracking/client/mlflow-client';
import { DynamoRegistryStore } from '../../tracking/store/dynamo-registry-store';
import { RegistryDeploymentRecords, SdkLambdaControl } from './adapters';
import { rollbackCurrent } from './api';
import { TAG, validateSteps } from './workflow';

interface LocalOptions {
  dataDir: string;
  stage: string;
  apiUrl?: string;
}

/** The platform's API when `--api-url` or `MLOPS_API_URL` names one; else the data-dir mode. */
function apiOf(o: LocalOptions) {
  const apiUrl = o.apiUrl ?? process.env.MLOPS_API_URL;
  return apiUrl ? createMlflowClient({ apiUrl }).call : undefined;
}

const print = (v: unknown): void => {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
};

/** The serving function, its deployment workflow and the registry of a local runtime. */
function servingOf(rt: LocalRuntime) {
  const machine = [...rt.stepFunctions.machines.keys()].find((k) => k.includes('ServingDeployment'));
  const alias = rt.plan.aliases.find((a) => a.name === 'live' && a.functionId.includes('Serving'));
  if (!machine || !alias) throw new InvalidStateError('the template has no serving deployment workflow');
  const fn = rt.plan.functions.get(alias.functionId);
  const lambda = new SdkLambdaControl(
    new LambdaClient({
      endpoint: rt.env.AWS_ENDPOINT_URL_LAMBDA,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    alias.functionId,
  );
  const registry = new DynamoRegistryStore(localDynamoClients(rt.dynamodbEndpoint).doc, 'tracking');
  return {
    machine,
    lambda,
    records: new RegistryDeploymentRecords(registry),
    registry,
    model: String(fn?.environment.MODEL_NAME ?? ''),
  };
}

async function withRuntime<T>(o: LocalOptions, run: (rt: LocalRuntime) => Promise<T>): Promise<T> {
  const rt = await startLocalRuntime({ port: 0, dataDir: o.dataDir, config: { stage: o.stage } });
  try {
    return await run(rt);
  } finally {
    await rt.stop();
  }
}

/** The deployment status of a model: the alias's versions and each deployed version's record. */
export async function deploymentStatus(rt: LocalRuntime, model: string) {
  const s = servingOf(rt);
  if (model !== s.model) throw new InvalidParameterError(`This platform serves '${s.model}', not '${model}'`);
  const alias = await s.lambda.getAlias('live');
  const versions = (await s.registry.listVersions(model))
    .filter((v) => v.tags[`${TAG}.status`])
    .map((v) => ({
      version: v.version,
      ...Object.fromEntries(
        Object.entries(v.tags)
          .filter(([k]) => k.startsWith(`${TAG}.`))
          .map(([k, val]) => [k.slice(TAG.length + 1), val]),
      ),
    }));
  return {
    model,
    alias: { name: 'live', version: alias.version, weights: alias.weights },
    deployments: versions,
  };
}

/**
 * `mlops deploy <model> <version>`, `mlops deploy status <model>` and `mlops rollback <model>`
 * on the local runtime: the deployment runs the synthesized workflow, so the canary, its
 * alarms and the registry record are the same as on AWS.
 */
export function registerDeployCommands(program: Command): void {
  const local = (c: Command) =>
    c
      .option(
        '--api-url <url>',
        'the running platform API (default: $MLOPS_API_URL); without it, the data dir',
      )
      .option('--data-dir <dir>', 'local data directory', '.mlops')
      .option('--stage <stage>', 'stage', 'local');
  const deploy = local(
    program
      .command('deploy')
      .description('canary-deploy a registered model version through the live alias (status: deploy status)')
      .argument('[model]')
      .argument('[version]')
      .option('--steps <list>', 'traffic steps in percent', '5,25,50,100')
      .option('--bake-seconds <n>', 'how long each step is held before its alarms are checked'),
  ).action(
    async (
      model: string | undefined,
      version: string | undefined,
      o: LocalOptions & { steps: string; bakeSeconds?: string },
    ) => {
      if (!model || !version) throw new InvalidParameterError('usage: mlops deploy <model> <version>');
      const steps = validateSteps(o.steps.split(',').map((x) => Number(x.trim())));
      const bake = o.bakeSeconds === undefined ? undefined : Number(o.bakeSeconds);
      const api = apiOf(o);
      if (api) {
        // The API starts the workflow and answers at once: follow it with `deploy status`.
        return print(
          await api('POST', '/v1/deployments', {
            model,
            version,
            steps,
            ...(bake !== undefined ? { bake_seconds: bake } : {}),
          }),
        );
      }
      await withRuntime(o, async (rt) => {
        const s = servingOf(rt);
        const r = await rt.stepFunctions.run(s.machine, {
          name: `deploy-${model}-${version}-${Date.now()}`,
          input: { request: { model, version, steps, ...(bake !== undefined ? { bakeSeconds: bake } : {}) } },
        });
        const tags = (await s.registry.getVersion(model, version))?.tags ?? {};
        process.stdout.write(
          `${JSON.stringify({ status: tags[`${TAG}.status`] ?? r.status, error: r.error, tags }, null, 2)}\n`,
        );
        if (r.status !== 'SUCCEEDED')
          throw new MlopsError(
            'INVALID_STATE',
            `deployment of ${model} v${version}: ${r.error?.Error}: ${r.error?.Cause}`,
          );
      });
    },
  );
  local(
    deploy.command('status').description('the live alias and each deployment of a model').argument('<model>'),
  ).action(async (model: string, o: LocalOptions) => {
    const api = apiOf(o);
    if (api) return print(await api('GET', `/v1/deployments/${encodeURIComponent(model)}`));
    await withRuntime(o, async (rt) => {
      process.stdout.write(`${JSON.stringify(await deploymentStatus(rt, model), null, 2)}\n`);
    });
  });
  local(
    program
      .command('rollback')
      .description('send all live traffic back to the previous version')
      .argument('<model>'),
  ).action(async (model: string, o: LocalOptions) => {
    const api = apiOf(o);
    if (api) {
      const r = await api('POST', `/v1/deployments/${encodeURIComponent(model)}/rollback`, {
        reason: 'manual rollback (mlops rollback)',
      });
      return void process.stdout.write(
        `live → version ${r.live_lambda_version}; ${model} v${r.version} rolled back\n`,
      );
    }
    await withRuntime(o, async (rt) => {
      const s = servingOf(rt);
      const r = await rollbackCurrent(model, 'manual rollback (mlops rollback)', {
        settings: {
          servedModel: s.model,
          alias: 'live',
          alarms: { blue: [], green: [] },
          defaultBakeSeconds: 0,
        },
        lambda: s.lambda,
        records: s.records,
        // Stops a canary this process runs; one run by `mlops up` is stopped through --api-url.
        workflow: {
          stop: async (name, cause) => {
            rt.stepFunctions.stop(s.machine, name, 'ManualRollback', cause);
          },
        },
      });
      process.stdout.write(`live → version ${r.live_lambda_version}; ${model} v${r.version} rolled back\n`);
    });
  });
}
