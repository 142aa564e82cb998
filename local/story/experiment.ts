import { scheduledEvent, scheduledFunctions } from '../scheduler';
import { type StoryContext, StoryStepError, sleep } from './context';
import { deployThroughCanary, promote } from './deploy';
import { type Served, serve, tally } from './traffic';

/**
 * Shadow mode: `POST /v1/models/{name}/shadow` makes the challenger score a copy of live
 * traffic (after the answers, from the prediction log); the shadow report compares the two.
 */
export async function shadow(ctx: StoryContext, users: readonly number[], step: string): Promise<void> {
  const model = encodeURIComponent(ctx.facts.model);
  const version = ctx.facts.versions.v2;
  if (!version) throw new StoryStepError(step, 'no challenger version to shadow');
  await ctx.ok('POST', `/v1/models/${model}/shadow`, { version, sample_rate: 1 });
  ctx.say(`POST /v1/models/${ctx.facts.model}/shadow: v${version} scores a copy of live requests`);
  // The scorer caches each model's shadow configuration (absence too) for up to
  // SHADOW_CONFIG_CACHE_SECONDS, so a shadow starts within that time: probe with one request
  // until its pair is stored, then count from there.
  const reportNow = async () => {
    await ctx.rt.logSubscriptions.flush();
    return ctx.ok('GET', `/v1/models/${model}/shadow/report?version=${version}`);
  };
  const started = await ctx.until(
    'the shadow scorer to pick up the shadow',
    async () => {
      await serve(ctx, users.slice(0, 1));
      const r = await reportNow();
      if (r.rows > 0) return r;
      await sleep(1000);
      return undefined;
    },
    60,
  );
  const served = await serve(ctx, users, { batch: 5 });
  ctx.say(`served ${served.length} requests (${tally(served)}); the answers never wait for the shadow`);
  const expected = served.filter((s) => s.status === 200).reduce((n, s) => n + s.users.length, 0);
  const report = await ctx.until(
    'the shadow pairs to be stored',
    async () => {
      const r = await reportNow();
      return r.rows - started.rows >= expected * 0.9 ? r : undefined;
    },
    120,
  );
  ctx.say(
    `shadow report: ${report.rows} rows, agreement ${report.agreement_rate === null ? 'n/a' : `${(100 * report.agreement_rate).toFixed(1)}%`} (${report.agreement_rule}), mean |diff| ${report.mean_abs_diff?.toFixed(4)}; ${report.divergence.reason}`,
  );
  ctx.facts.shadow = {
    version,
    rows: report.rows,
    agreement: report.agreement_rate,
    divergent: report.divergence.divergent,
  };
  await ctx.ok('DELETE', `/v1/models/${model}/shadow`);
  ctx.say(`DELETE /v1/models/${ctx.facts.model}/shadow: shadowing ends (its pairs are kept)`);
}

/**
 * A live A/B test of the served version against the challenger: the experiment routes,
 * sticky assignment in the predict function, exposures from the prediction log, outcomes
 * (did the user buy within 7 days, and for how much) and the analysis's decision, acted on.
 */
export async function abTest(
  ctx: StoryContext,
  users: readonly number[],
  tag: string,
  step: string,
): Promise<Served[]> {
  const { v1, v2 } = ctx.facts.versions;
  const data = ctx.facts.data;
  if (!v1 || !v2 || !data) throw new StoryStepError(step, 'needs v1, v2 and the generated data');
  const id = `ab-${tag}`;
  const created = await ctx.ok('POST', '/v1/experiments', {
    name: id,
    model: ctx.facts.model,
    control_version: v1,
    treatment_version: v2,
    allocation: { control: 0.5, treatment: 0.5 },
  });
  ctx.say(
    `POST /v1/experiments: ${id}, control v${v1}, treatment v${v2}, 50/50 (${created.experiment.status})`,
  );
  // The predict function reads the running experiment at most 30 s old (EXPERIMENT_CACHE_SECONDS):
  // probe until a request is assigned.
  await ctx.until(
    'the predict function to assign units',
    async () => {
      const r = await ctx.api('POST', `/v1/models/${encodeURIComponent(ctx.facts.model)}/predict`, {
        entities: { user_id: [users[0]] },
        unit_id: String(users[0]),
      });
      if (r.json.experiment === id) return true;
      await sleep(1000);
      return undefined;
    },
    60,
  );
  const served = await serve(ctx, users, { perUnit: true, concurrency: 3 });
  const arms = served.filter((s) => s.arm).map((s) => s.arm);
  ctx.say(
    `${served.length} units served (${tally(served)}): control ${arms.filter((a) => a === 'control').length}, treatment ${arms.filter((a) => a === 'treatment').length}`,
  );
  // Outcomes of the simulated next 7 days; an outcome is accepted once its unit's exposure
  // has arrived from the prediction log.
  const outcomes = served
    .filter((s) => s.arm)
    .map((s) => {
      const u = s.users[0] as number;
      const f = data.future.get(u);
      return {
        outcome_id: `${id}-${u}`,
        unit_id: String(u),
        converted: f?.bought ?? false,
        value: Math.round((f?.value ?? 0) * 100) / 100,
        timestamp: new Date().toISOString(),
      };
    });
  let recorded = 0;
  for (let i = 0; i < outcomes.length; i += 500) {
    const batch = outcomes.slice(i, i + 500);
    const r = await ctx.until(
      'the exposures to arrive (outcomes are refused before)',
      async () => {
        await ctx.rt.logSubscriptions.flush();
        const res = await ctx.api('POST', `/v1/experiments/${id}/outcomes`, { outcomes: batch });
        if (res.status === 200) return res.json;
        if (res.status === 400 && /no exposure/i.test(String(res.json.message))) return undefined;
        throw new StoryStepError(step, `outcomes refused: ${res.status} ${JSON.stringify(res.json)}`);
      },
      120,
    );
    recorded += r.recorded + r.duplicates;
  }
  ctx.say(`POST /v1/experiments/${id}/outcomes: ${recorded} outcomes (converted = bought within 7 days)`);
  const analysis = await ctx.ok('GET', `/v1/experiments/${id}/analysis?mde=0.1`);
  const c = analysis.comparisons[0];
  const conv = c.conversion;
  ctx.say(
    `analysis: conversion ${(100 * conv.control).toFixed(1)}% vs ${(100 * conv.treatment).toFixed(1)}% (p=${conv.p_value?.toFixed(3)}, sequential p=${conv.sequential_p_value?.toFixed(3)}), SRM p=${analysis.srm.p_value?.toFixed(3)}`,
  );
  ctx.say(`decision: ${c.decision}: ${c.reason}`);
  ctx.facts.experiment = {
    id,
    decision: c.decision,
    reason: c.reason,
    units: analysis.variants.reduce((n: number, v: { units: number }) => n + v.units, 0),
  };
  await ctx.ok('POST', `/v1/experiments/${id}/stop`);
  ctx.say(`POST /v1/experiments/${id}/stop`);
  if (c.decision === 'promote') {
    ctx.say(`the treatment wins: v${v2} goes through its canary`);
    const { record } = await deployThroughCanary(ctx, v2, users);
    if (record.status !== 'live')
      throw new StoryStepError(
        step,
        `the canary of v${v2} ended ${record.status}: ${record.rollback_reason ?? ''}`,
      );
    await promote(ctx, v2);
  } else ctx.say(`v${v1} stays live`);
  return served;
}

/**
 * Labels that arrive later: `POST /v1/labels` with each prediction's request id and what the
 * user did in the next 7 days, then the performance job (its schedule's Lambda target).
 */
export async function delayedLabels(
  ctx: StoryContext,
  served: readonly Served[],
  step: string,
): Promise<void> {
  const data = ctx.facts.data;
  if (!data) throw new StoryStepError(step, 'no generated data');
  const labels = served
    .filter((s) => s.status === 200 && s.requestId)
    .map((s) => ({
      request_id: s.requestId,
      label: s.users.map((u) => (data.future.get(u)?.bought ? 1 : 0)),
    }));
  let written = 0;
  for (let i = 0; i < labels.length; i += 1000) {
    const batch = labels.slice(i, i + 1000);
    const r = await ctx.until(
      'the predictions to be indexed (labels of unknown requests are refused)',
      async () => {
        await ctx.rt.logSubscriptions.flush();
        const res = await ctx.api('POST', '/v1/labels', { labels: batch });
        if (res.status === 200) return res.json;
        if (res.status === 404) return undefined;
        throw new StoryStepError(step, `labels refused: ${res.status} ${JSON.stringify(res.json)}`);
      },
      120,
    );
    written += r.written + r.unchanged;
  }
  ctx.say(
    `POST /v1/labels: ${written} labelled requests (${labels.reduce((n, l) => n + l.label.length, 0)} rows)`,
  );
  const job = scheduledFunctions(ctx.rt.plan).find((f) => /Performance/.test(f.functionId));
  if (!job) throw new StoryStepError(step, 'the template has no scheduled performance job');
  const invoked = await ctx.rt.lambda.invoke(
    job.functionId,
    undefined,
    job.input ?? scheduledEvent(job.rule, new Date()),
  );
  const report = invoked.result as {
    servingVersion?: string | null;
    versions?: {
      version: string;
      labelledRows: number;
      metrics: { auc?: number } | null;
      training: { metric?: string; value?: number } | null;
      drop: number | null;
    }[];
  };
  const versions = report?.versions ?? [];
  ctx.facts.performance = report;
  for (const v of versions) {
    ctx.say(
      `performance job (${job.expression}): v${v.version} ${v.labelledRows} labelled rows, live auc ${v.metrics?.auc?.toFixed(4) ?? 'n/a'} vs ${v.training?.value?.toFixed(4) ?? 'n/a'} at training (drop ${v.drop === null ? 'n/a' : `${(100 * v.drop).toFixed(1)}%`})`,
    );
  }
  const serving = versions.find((v) => v.version === report?.servingVersion) ?? versions[0];
  ctx.facts.labels = {
    sent: written,
    auc: serving?.metrics?.auc ?? null,
    testAuc: serving?.training?.value ?? null,
  };
}
