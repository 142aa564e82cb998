import type { StoryContext } from './context';

/**
 * In a reused data dir, what an earlier run left could stop this one: a canary under way, a
 * running experiment or a shadow (if it was interrupted), and a Production version the new
 * baseline would have to beat. They are cleared through the API, saying so.
 */
export async function tidyPreviousRun(ctx: StoryContext): Promise<void> {
  const model = encodeURIComponent(ctx.facts.model);
  const status = await ctx.api('GET', `/v1/deployments/${model}`);
  if (status.status === 200 && Object.keys(status.json.live?.weights ?? {}).length) {
    await ctx.ok('POST', `/v1/deployments/${model}/rollback`, { reason: 'npm start: a new story begins' });
    ctx.say('rolled back a canary an earlier run left under way');
  }
  const experiments = await ctx.api('GET', `/v1/experiments?model=${model}`);
  for (const e of (experiments.json.experiments ?? []) as { id: string; status: string }[]) {
    if (e.status === 'running' || e.status === 'starting') {
      await ctx.ok('POST', `/v1/experiments/${encodeURIComponent(e.id)}/stop`);
      ctx.say(`stopped experiment ${e.id} left running`);
    }
  }
  const shadow = await ctx.api('GET', `/v1/models/${model}/shadow`);
  if (shadow.status === 200) {
    await ctx.ok('DELETE', `/v1/models/${model}/shadow`);
    ctx.say('removed the shadow an earlier run left configured');
  }
  const versions = await ctx.api(
    'GET',
    `/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent(`name='${ctx.facts.model}'`)}&max_results=200`,
  );
  for (const v of (versions.json.model_versions ?? []) as { version: string; current_stage: string }[]) {
    if (v.current_stage !== 'Production') continue;
    await ctx.ok('POST', '/api/2.0/mlflow/model-versions/transition-stage', {
      name: ctx.facts.model,
      version: v.version,
      stage: 'Archived',
    });
    ctx.say(
      `archived v${v.version}, Production in an earlier run: this run's baseline starts the story again`,
    );
  }
}
