import { InvalidParameterError, InvalidStateError, NotFoundError } from '../../platform/errors';

/** Traffic steps (percent of the alias's calls on the new version) when a deployment names none. */
export const DEFAULT_STEPS = [5, 25, 50, 100] as const;

/** Tag prefix of what a deployment records on the model version. */
export const TAG = 'mlops.deployment';

/** The serving function's versions and alias, as Lambda's API keeps them. */
export interface LambdaControl {
  getAlias(alias: string): Promise<{ version: string; weights: Record<string, number>; revisionId: string }>;
  /** The environment a published version runs with. */
  versionEnvironment(version: string): Promise<Record<string, string>>;
  /** Publishes a version of `$LATEST` with these variables changed; returns its number. */
  publishPinned(changes: Record<string, string>, description: string): Promise<string>;
  /** Sets the alias: its version and at most one additional version with its weight (0..1). */
  setAlias(
    alias: string,
    version: string,
    additional?: { version: string; weight: number },
    revisionId?: string,
  ): Promise<void>;
  /** Invokes one published version synchronously; `functionError` when it threw or could not start. */
  invokeVersion(version: string, event: unknown): Promise<{ payload: unknown; functionError?: string }>;
}

/** Where a deployment's record lives: tags on the registered model version. */
export interface DeploymentRecords {
  versionExists(model: string, version: string): Promise<boolean>;
  tags(model: string, version: string): Promise<Record<string, string>>;
  setTags(model: string, version: string, tags: Record<string, string>): Promise<void>;
  /** Every version of the model with its tags. */
  versions(model: string): Promise<{ version: string; tags: Record<string, string> }[]>;
}

export interface DeploymentSettings {
  readonly servedModel: string;
  readonly alias: string;
  /** Alarm names per variant: the new version is checked on its own variant's alarms. */
  readonly alarms: Readonly<Record<'blue' | 'green', readonly string[]>>;
  readonly defaultBakeSeconds: number;
}

/** What the workflow carries from step to step. */
export interface DeploymentState {
  readonly model: string;
  readonly version: string;
  readonly functionVersion: string;
  readonly previousVersion: string;
  readonly variant: 'blue' | 'green';
  readonly alarmNames: readonly string[];
  readonly steps: readonly number[];
  readonly step: number;
  readonly bakeSeconds: number;
  readonly execution?: string;
}

export interface DeployRequest {
  readonly model: string;
  readonly version: string;
  readonly steps?: readonly number[];
  readonly bakeSeconds?: number;
  readonly execution?: string;
}

/** Checks a step list: increasing whole percentages in 1..100 that end at 100. */
export function validateSteps(steps: readonly number[]): number[] {
  const ok =
    steps.length > 0 &&
    steps.length <= 20 &&
    steps.every(
      (s, i) => Number.isInteger(s) && s >= 1 && s <= 100 && (i === 0 || s > (steps[i - 1] as number)),
    ) &&
    steps.at(-1) === 100;
  if (!ok) {
    throw new InvalidParameterError(
      `steps must be increasing whole percentages from 1 to 100 ending at 100 (at most 20), got [${steps.join(', ')}]`,
    );
  }
  return [...steps];
}

const now = () => new Date().toISOString();

/**
 * Checks a deployment request against the registry and the alias before anything changes:
 * the model is the one this function serves, the version exists, no canary is under way,
 * the version is not already live.
 */
export async function checkDeployable(
  req: DeployRequest,
  s: DeploymentSettings,
  lambda: LambdaControl,
  records: DeploymentRecords,
): Promise<{ primary: string }> {
  if (req.model !== s.servedModel) {
    throw new NotFoundError(`This platform serves model '${s.servedModel}', not '${req.model}'`);
  }
  if (!(await records.versionExists(req.model, req.version))) {
    throw new NotFoundError(`Model '${req.model}' has no version '${req.version}'`);
  }
  if (req.steps) validateSteps(req.steps);
  if (
    req.bakeSeconds !== undefined &&
    !(Number.isInteger(req.bakeSeconds) && req.bakeSeconds >= 0 && req.bakeSeconds <= 86_400)
  ) {
    throw new InvalidParameterError(
      `bakeSeconds must be a whole number from 0 to 86400, got ${req.bakeSeconds}`,
    );
  }
  const alias = await lambda.getAlias(s.alias);
  if (Object.keys(alias.weights).length) {
    throw new InvalidStateError(
      `A deployment is under way: alias '${s.alias}' sends traffic to version ${Object.keys(alias.weights).join(', ')}; wait for it or roll back`,
    );
  }
  const env = await lambda.versionEnvironment(alias.version);
  if (env.MODEL_VERSION === req.version) {
    throw new InvalidStateError(`Version ${req.version} of '${req.model}' is already live`);
  }
  return { primary: alias.version };
}

/**
 * Prepare: publishes a Lambda version pinned to the model version (its `MODEL_VERSION`) on
 * the variant the live version does not use, so the new version's metrics and alarms are
 * its own, and records the deployment on the model version.
 */
export async function prepare(
  req: DeployRequest,
  s: DeploymentSettings,
  lambda: LambdaControl,
  records: DeploymentRecords,
): Promise<DeploymentState> {
  const { primary } = await checkDeployable(req, s, lambda, records);
  const liveVariant = (await lambda.versionEnvironment(primary)).SERVING_VARIANT;
  const variant = liveVariant === 'green' ? 'blue' : 'green';
  const functionVersion = await lambda.publishPinned(
    { MODEL_VERSION: req.version, SERVING_VARIANT: variant },
    `${req.model} v${req.version} (${variant})`,
  );
  const steps = req.steps ? validateSteps(req.steps) : [...DEFAULT_STEPS];
  await records.setTags(req.model, req.version, {
    [`${TAG}.status`]: 'canary',
    [`${TAG}.lambda_version`]: functionVersion,
    [`${TAG}.previous_lambda_version`]: primary,
    [`${TAG}.variant`]: variant,
    [`${TAG}.traffic`]: '0',
    [`${TAG}.steps`]: '',
    [`${TAG}.started_at`]: now(),
    ...(req.execution ? { [`${TAG}.execution`]: req.execution } : {}),
  });
  return {
    model: req.model,
    version: req.version,
    functionVersion,
    previousVersion: primary,
    variant,
    alarmNames: [...s.alarms[variant]],
    steps,
    step: 0,
    bakeSeconds: req.bakeSeconds ?? s.defaultBakeSeconds,
    ...(req.execution ? { execution: req.execution } : {}),
  };
}

/** Shift: moves the alias to the current step's weight (at 100%, the new version becomes the alias's). */
export async function shift(
  state: DeploymentState,
  s: DeploymentSettings,
  lambda: LambdaControl,
  records: DeploymentRecords,
) {
  const percent = state.steps[state.step] as number;
  const tags = await records.tags(state.model, state.version);
  // A manual rollback stops the execution; this guards a step that was already running then.
  if (tags[`${TAG}.status`] !== 'canary') {
    throw new InvalidStateError(
      `Deployment of ${state.model} v${state.version} is ${tags[`${TAG}.status`] ?? 'not recorded'}, no longer a canary: traffic not shifted`,
    );
  }
  if (percent >= 100) await lambda.setAlias(s.alias, state.functionVersion);
  else
    await lambda.setAlias(s.alias, state.previousVersion, {
      version: state.functionVersion,
      weight: percent / 100,
    });
  const history = tags[`${TAG}.steps`] ? `${tags[`${TAG}.steps`]},` : '';
  await records.setTags(state.model, state.version, {
    [`${TAG}.traffic`]: String(percent),
    [`${TAG}.steps`]: `${history}${percent}%@${now()}`,
  });
  return state;
}

/** The deployment is refused before any traffic moves (the state machine's `DeploymentRefused`). */
export class DeploymentRefusedError extends Error {
  override readonly name = 'DeploymentRefused';
}

/**
 * The API Gateway (REST proxy) event of `GET /v2/models/{name}/versions/{version}/ready`:
 * the serving function answers it only once the pinned model version has loaded.
 */
export function readyProbeEvent(model: string, version: string, requestId: string) {
  const path = `/v2/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/ready`;
  return {
    resource: '/v2/models/{name}/versions/{version}/ready',
    path,
    httpMethod: 'GET',
    headers: { accept: 'application/json' },
    multiValueHeaders: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { name: model, version },
    stageVariables: null,
    requestContext: { requestId, identity: { userArn: 'mlops-deployment' } },
    body: null,
    isBase64Encoded: false,
  };
}

/** Why a ready probe's answer is not "this model version is loaded", or undefined when it is. */
function notReadyReason(
  answer: { payload: unknown; functionError?: string },
  version: string,
): string | undefined {
  const p = (answer.payload ?? {}) as { statusCode?: number; body?: string; errorMessage?: string };
  if (answer.functionError) return `the function failed (${answer.functionError}): ${p.errorMessage ?? ''}`;
  let body: { ready?: boolean; version?: string; message?: string } = {};
  try {
    body = typeof p.body === 'string' ? JSON.parse(p.body) : {};
  } catch {
    // Not JSON: reported below with the status code.
  }
  if (p.statusCode === 200 && body.ready === true && body.version === version) return undefined;
  return `ready probe answered ${p.statusCode ?? 'nothing'}: ${body.message ?? (body.ready === true ? `serves version ${body.version}` : 'not ready')}`;
}

/**
 * Readiness gate, before any traffic: invokes the new Lambda version's ready route, which
 * answers once its pinned model has loaded (a cold start loads it). A version whose model
 * cannot load is refused (recorded on the model version with the reason) and the alias
 * never points at it.
 */
export async function checkReady(
  state: DeploymentState,
  lambda: LambdaControl,
  records: DeploymentRecords,
): Promise<DeploymentState> {
  let reason: string | undefined;
  try {
    reason = notReadyReason(
      await lambda.invokeVersion(
        state.functionVersion,
        readyProbeEvent(state.model, state.version, `readiness-${state.execution ?? state.functionVersion}`),
      ),
      state.version,
    );
  } catch (err) {
    reason = `ready probe failed: ${(err as Error).message}`;
  }
  if (reason === undefined) {
    await records.setTags(state.model, state.version, { [`${TAG}.ready_at`]: now() });
    return state;
  }
  const message =
    `Lambda version ${state.functionVersion} (model version ${state.version}) is not ready: ${reason}`.slice(
      0,
      4000,
    );
  await records.setTags(state.model, state.version, {
    [`${TAG}.status`]: 'refused',
    [`${TAG}.traffic`]: '0',
    [`${TAG}.refusal_reason`]: message,
    [`${TAG}.refused_at`]: now(),
  });
  throw new DeploymentRefusedError(message);
}

interface AlarmSummary {
  readonly AlarmName?: string;
  readonly StateValue?: string;
  readonly StateReason?: string;
}

/** Decide: after a bake, any of the new version's alarms in ALARM rolls back; else the next step, or done. */
export function decide(
  state: DeploymentState,
  check: { MetricAlarms?: readonly AlarmSummary[] } | undefined,
): { action: 'rollback' | 'next' | 'promote'; reason?: string; state: DeploymentState } {
  const firing = (check?.MetricAlarms ?? []).filter((a) => a.StateValue === 'ALARM');
  if (firing.length) {
    const reason = firing.map((a) => `${a.AlarmName}: ${a.StateReason ?? 'ALARM'}`).join('; ');
    return { action: 'rollback', reason: `alarm at ${state.steps[state.step]}% traffic: ${reason}`, state };
  }
  if (state.step + 1 >= state.steps.length) return { action: 'promote', state };
  return { action: 'next', state: { ...state, step: state.step + 1 } };
}

/** Rollback: all traffic back to the previous version, and why, on the model version. */
export async function rollback(
  state: DeploymentState,
  reason: string,
  s: DeploymentSettings,
  lambda: LambdaControl,
  records: DeploymentRecords,
) {
  // The record first, then the alias: whoever reads the alias and then the records (the
  // severe alarm's action) never sees the weight gone while the record still says canary,
  // which would make the healthy version look current and roll it back too. A failed alias
  // move fails this step, and the rollback is retried.
  await records.setTags(state.model, state.version, {
    [`${TAG}.status`]: 'rolled_back',
    [`${TAG}.traffic`]: '0',
    [`${TAG}.rollback_reason`]: reason.slice(0, 4000),
    [`${TAG}.rolled_back_at`]: now(),
  });
  await lambda.setAlias(s.alias, state.previousVersion);
  return { status: 'rolled_back', reason, state };
}

/** Promote: the new version holds all traffic and passed every check. */
export async function promote(state: DeploymentState, records: DeploymentRecords) {
  await records.setTags(state.model, state.version, {
    [`${TAG}.status`]: 'live',
    [`${TAG}.traffic`]: '100',
    [`${TAG}.promoted_at`]: now(),
  });
  return { status: 'live', state };
}
