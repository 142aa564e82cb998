import { InvalidStateError } from '../../platform/errors';
import { deploymentStatus, rollbackCurrent, type WorkflowStarter } from '../../serving/deploy/api';
import {
  type DeploymentRecords,
  type DeploymentSettings,
  type LambdaControl,
  TAG,
} from '../../serving/deploy/workflow';

/** What CloudWatch sends a Lambda alarm action (metric and composite alarms alike). */
export interface AlarmActionEvent {
  readonly alarmArn?: string;
  readonly time?: string;
  readonly alarmData: {
    readonly alarmName: string;
    readonly state: { readonly value: string; readonly reason?: string; readonly timestamp?: string };
    readonly previousState?: { readonly value?: string };
    readonly configuration?: { readonly alarmRule?: string; readonly description?: string };
  };
}

export interface SevereRollbackDeps {
  readonly settings: Pick<DeploymentSettings, 'servedModel' | 'alias'> & Partial<DeploymentSettings>;
  readonly lambda: LambdaControl;
  readonly records: DeploymentRecords;
  /**
   * The deployment workflow: a canary under way has its execution stopped before the alias
   * moves back, so no later step shifts traffic to the version again.
   * @default - the alias and the record change, a running execution is left alone
   */
  readonly workflow?: Pick<WorkflowStarter, 'stop'>;
}

export type SevereOutcome =
  | {
      readonly action: 'rolled_back';
      readonly version: string;
      readonly liveLambdaVersion: string;
      readonly reason: string;
      /** The canary's execution, stopped before the rollback. */
      readonly stoppedExecution?: string;
    }
  | { readonly action: 'ignored' | 'skipped' | 'nothing_to_roll_back'; readonly reason: string };

/**
 * The severe alarm's action: rolls the served model's `live` alias back to the version
 * before the current deployment (the previous Production version) with serving's own
 * rollback (lambdas/serving/deploy/api.ts), which records `rolled_back` and the reason,
 * naming the alarm, on the model version's `mlops.deployment.*` tags. A canary under way
 * (the version carrying a weight) is the one rolled back, its workflow stopped first, as a
 * manual rollback does.
 *
 * A rollback of this model recorded within `cooldownMs` means the condition is already
 * being handled (the canary's own rollback on the same error alarm, or an earlier severe
 * state): rolling back again would take a second, healthy version off the alias.
 *
 * @example
 * await rollbackOnSevereAlarm(event, { settings, lambda, records, workflow }, { cooldownMs: 900_000 });
 */
export async function rollbackOnSevereAlarm(
  event: AlarmActionEvent,
  deps: SevereRollbackDeps,
  options: { readonly cooldownMs: number; readonly now?: number },
): Promise<SevereOutcome> {
  const alarm = event.alarmData?.alarmName ?? 'unknown alarm';
  const state = event.alarmData?.state?.value;
  if (state !== 'ALARM') return { action: 'ignored', reason: `${alarm} is ${state}, not ALARM` };
  const model = deps.settings.servedModel;
  const now = options.now ?? Date.now();
  const settings = { alarms: { blue: [], green: [] }, defaultBakeSeconds: 0, ...deps.settings };
  // One snapshot (the alias, then the records) decides both whether to stand down and what
  // to roll back: a canary rolling itself back at this moment has written its record before
  // moving the alias, so it is seen as recent here rather than leaving the healthy version
  // looking current.
  const status = await deploymentStatus(model, { settings, lambda: deps.lambda, records: deps.records });
  const recent = (status.deployments as Record<string, string>[])
    .map((v) => ({ version: v.version, at: Date.parse(v.rolled_back_at ?? '') }))
    .filter((v) => Number.isFinite(v.at) && now - v.at < options.cooldownMs);
  if (recent.length) {
    return {
      action: 'skipped',
      reason: `version ${recent.map((r) => r.version).join(', ')} of '${model}' was rolled back less than ${Math.round(options.cooldownMs / 1000)} s ago`,
    };
  }
  const reason = `severe alarm ${alarm}: ${event.alarmData.state.reason ?? 'ALARM'}`.slice(0, 4000);
  try {
    const done = await rollbackCurrent(
      model,
      reason,
      {
        settings,
        lambda: deps.lambda,
        records: deps.records,
        ...(deps.workflow ? { workflow: deps.workflow } : {}),
      },
      status,
    );
    await deps.records.setTags(model, done.version, { [`${TAG}.rolled_back_by`]: alarm });
    return {
      action: 'rolled_back',
      version: done.version,
      liveLambdaVersion: done.live_lambda_version,
      reason,
      ...(done.stopped_execution ? { stoppedExecution: done.stopped_execution } : {}),
    };
  } catch (err) {
    // Nothing deployed through the workflow: no previous version to go back to.
    if (err instanceof InvalidStateError) return { action: 'nothing_to_roll_back', reason: err.message };
    throw err;
  }
}
