import { InvalidStateError, NotFoundError } from '../../platform/errors';
import { bind, type RouteBinding } from '../../platform/http/route';
import { deploymentStatusRoute, rollbackRoute, startDeploymentRoute } from './routes';
import {
  checkDeployable,
  type DeploymentRecords,
  type DeploymentSettings,
  type DeploymentState,
  type LambdaControl,
  rollback,
  TAG,
} from './workflow';

/** Starts an execution of the deployment workflow; returns its id. */
export interface WorkflowStarter {
  start(name: string, input: unknown): Promise<{ executionArn: string }>;
}

export interface DeploymentApiDeps {
  readonly settings: DeploymentSettings;
  readonly lambda: LambdaControl;
  readonly records: DeploymentRecords;
  readonly workflow: WorkflowStarter;
}

function servedModel(model: string, s: DeploymentSettings) {
  if (model !== s.servedModel) {
    throw new NotFoundError(`This platform serves model '${s.servedModel}', not '${model}'`);
  }
}

/** The live alias's versions and weights, and every deployment's `mlops.deployment.*` record. */
export async function deploymentStatus(model: string, d: Omit<DeploymentApiDeps, 'workflow'>) {
  servedModel(model, d.settings);
  const alias = await d.lambda.getAlias(d.settings.alias);
  const env = await d.lambda.versionEnvironment(alias.version);
  const deployments = (await d.records.versions(model))
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
    live: {
      lambda_version: alias.version,
      ...(env.MODEL_VERSION ? { model_version: env.MODEL_VERSION } : {}),
      weights: alias.weights,
    },
    deployments,
  };
}

/**
 * Sends all traffic back to the version before the current deployment (the one the alias
 * points at, or carries a weight for) and records why on the deployed model version.
 */
export async function rollbackCurrent(model: string, reason: string, d: Omit<DeploymentApiDeps, 'workflow'>) {
  const status = await deploymentStatus(model, d);
  const onAlias = new Set([status.live.lambda_version, ...Object.keys(status.live.weights)]);
  const current = status.deployments.find(
    (x) =>
      (x as Record<string, string>).lambda_version !== undefined &&
      onAlias.has((x as Record<string, string>).lambda_version as string) &&
      (x as Record<string, string>).status !== 'rolled_back',
  ) as Record<string, string> | undefined;
  if (!current?.previous_lambda_version) {
    throw new InvalidStateError(`No deployment of '${model}' to roll back`);
  }
  const state = { model, version: current.version, previousVersion: current.previous_lambda_version };
  await rollback(state as DeploymentState, reason, d.settings, d.lambda, d.records);
  return { model, version: current.version as string, live_lambda_version: current.previous_lambda_version };
}

/** The deployment API: start a canary, its status, roll back. */
export function deploymentBindings(d: DeploymentApiDeps): RouteBinding[] {
  return [
    bind(startDeploymentRoute, async (req) => {
      const request = {
        model: req.model,
        version: req.version,
        ...(req.steps ? { steps: req.steps } : {}),
        ...(req.bake_seconds !== undefined ? { bakeSeconds: req.bake_seconds } : {}),
      };
      // Refused here with a 4xx (unknown version, a canary under way, already live)
      // rather than as a failed execution; the workflow checks again when it starts.
      await checkDeployable(request, d.settings, d.lambda, d.records);
      const name = `deploy-${req.model.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${req.version}-${Date.now()}`;
      const { executionArn } = await d.workflow.start(name, { request });
      return { deployment_id: executionArn, execution_name: name, model: req.model, version: req.version };
    }),
    bind(deploymentStatusRoute, (req) => deploymentStatus(req.model, d)),
    bind(rollbackRoute, (req, ctx) =>
      rollbackCurrent(req.model, req.reason ?? `manual rollback by ${ctx.caller} (API)`, d),
    ),
  ];
}
