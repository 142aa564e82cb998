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

/** The deployment workflow's executions: start one, or stop a running one. */
export interface WorkflowStarter {
  /** Starts an execution; returns its id. */
  start(name: string, input: unknown): Promise<{ executionArn: string }>;
  /** Stops a running execution (no further step runs); a finished one is left as it is. */
  stop(name: string, cause: string): Promise<void>;
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

/**
 * The live alias's versions and weights, and every deployment's `mlops.deployment.*` record,
 * read after the alias (a rollback writes its record before it moves the alias).
 */
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
 * points at, or carries a weight for) and records why on the deployed model version. A
 * canary still under way has its workflow stopped first, so no later step shifts traffic
 * again (with `workflow`; without it only the alias and the record change).
 */
export async function rollbackCurrent(
  model: string,
  reason: string,
  d: Omit<DeploymentApiDeps, 'workflow'> & { readonly workflow?: Pick<WorkflowStarter, 'stop'> },
  /** The status the caller decided on (`deploymentStatus`), so the decision and the rollback see one state. */
  seen?: Awaited<ReturnType<typeof deploymentStatus>>,
) {
  const status = seen ?? (await deploymentStatus(model, d));
  // The canary under way (the version carrying a weight) if any, else the one the alias points at.
  const records = status.deployments as Record<string, string>[];
  const at = (lambdaVersion: string) =>
    records.find((x) => x.lambda_version === lambdaVersion && x.status !== 'rolled_back');
  const current = [...Object.keys(status.live.weights), status.live.lambda_version]
    .map(at)
    .find((x) => x !== undefined);
  if (!current?.previous_lambda_version) {
    throw new InvalidStateError(`No deployment of '${model}' to roll back`);
  }
  const stopped = current.status === 'canary' && current.execution !== undefined && d.workflow !== undefined;
  if (stopped) await d.workflow?.stop(current.execution as string, `rolled back: ${reason}`.slice(0, 32_768));
  const state = { model, version: current.version, previousVersion: current.previous_lambda_version };
  await rollback(state as DeploymentState, reason, d.settings, d.lambda, d.records);
  return {
    model,
    version: current.version as string,
    live_lambda_version: current.previous_lambda_version,
    ...(stopped ? { stopped_execution: current.execution } : {}),
  };
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
