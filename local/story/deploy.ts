import type { StoryContext } from './context';
import { type Served, tally, underTraffic } from './traffic';

/** A deployment's record, as `GET /v1/deployments/{model}` answers it. */
export interface DeploymentRecord {
  readonly version: string;
  readonly status: string;
  readonly traffic?: string;
  readonly steps?: string;
  readonly rollback_reason?: string;
  readonly refusal_reason?: string;
  readonly lambda_version?: string;
  readonly execution?: string;
}

/** Traffic steps of the story's canaries (the default is 5 → 25 → 50 → 100). */
export const STORY_STEPS = [10, 50, 100];

/**
 * Starts a canary through `POST /v1/deployments` (the deployment workflow: readiness gate,
 * traffic steps on the `live` alias, alarms checked after each bake) and follows it on
 * `GET /v1/deployments/{model}` while clients keep predicting for `users`, until it is
 * live, rolled back or refused.
 */
export async function deployThroughCanary(
  ctx: StoryContext,
  version: string,
  users: readonly number[],
): Promise<{ record: DeploymentRecord; served: Served[] }> {
  const model = ctx.facts.model;
  const started = await ctx.ok('POST', '/v1/deployments', {
    model,
    version,
    steps: STORY_STEPS,
    bake_seconds: ctx.options.bakeSeconds,
  });
  ctx.say(
    `POST /v1/deployments: v${version}, steps ${STORY_STEPS.join('% → ')}%, bake ${ctx.options.bakeSeconds}s (execution ${started.execution_name})`,
  );
  let shown = '';
  const { result: record, served } = await underTraffic(ctx, users, () =>
    ctx.until(
      `the canary of v${version} to finish`,
      async () => {
        const status = await ctx.ok('GET', `/v1/deployments/${encodeURIComponent(model)}`);
        const r = (status.deployments as DeploymentRecord[]).find(
          (d) => d.version === version && d.execution === started.execution_name,
        );
        if (r?.traffic && r.traffic !== '0' && r.traffic !== shown && r.status === 'canary') {
          shown = r.traffic;
          ctx.say(`  traffic on v${version}: ${r.traffic}%`);
        }
        return r && r.status !== 'canary' ? r : undefined;
      },
      240,
    ),
  );
  ctx.say(`  answers while it ran: ${tally(served)}`);
  if (ctx.facts.production.length === 0 && served.some((s) => s.status === 404))
    ctx.say(
      `  (the 404s: before a first version is in Production, the share of traffic not yet on v${version} reaches the template's own version, which has no model to serve)`,
    );
  ctx.facts.deployments.push({
    version,
    status: record.status,
    ...(record.steps ? { steps: record.steps } : {}),
    ...(record.rollback_reason || record.refusal_reason
      ? { reason: record.rollback_reason ?? record.refusal_reason }
      : {}),
  });
  return { record, served };
}

/** Moves a version to Production in the registry (MLflow `transition-stage`), archiving the one before. */
export async function promote(ctx: StoryContext, version: string): Promise<void> {
  await ctx.ok('POST', '/api/2.0/mlflow/model-versions/transition-stage', {
    name: ctx.facts.model,
    version,
    stage: 'Production',
    archive_existing_versions: true,
  });
  ctx.facts.production.push(version);
  ctx.say(`registry: ${ctx.facts.model} v${version} → Production`);
}
