import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { scheduledTargets } from '../scheduler';
import type { ExecutionRecord } from '../stepfunctions';
import { type StoryContext, StoryStepError } from './context';
import { ingestFiles, materialize } from './data';
import { deployThroughCanary, promote } from './deploy';
import { type Served, serve, tally } from './traffic';
import { describeRun, ENTITY_ROWS_KEY, pipelineMachine } from './train';

/** The shifted period lands: the campaign's batches are ingested and materialized, its labels join the rest. */
export async function shiftedPeriod(ctx: StoryContext, step: string): Promise<void> {
  const data = ctx.facts.data;
  if (!data) throw new StoryStepError(step, 'no generated data');
  await ingestFiles(ctx, [
    { source: 'users', file: data.shifted.users },
    { source: 'purchases', file: data.shifted.purchases },
  ]);
  await materialize(ctx, step);
  await new FsObjectStore(join(ctx.rt.dataDir, 's3')).put(
    'features',
    ENTITY_ROWS_KEY,
    await readFile(data.shifted.entityRows),
  );
  ctx.say(
    `labelled entity rows now include the campaign's ${data.counts.shiftedEntityRows} rows → s3://features/${ENTITY_ROWS_KEY}`,
  );
}

/** Today's traffic: mostly the campaign's users, some of the others. */
export function shiftedTraffic(ctx: StoryContext, n: number): number[] {
  const data = ctx.facts.data;
  if (!data) return [];
  const out: number[] = [];
  for (let i = 0; out.length < n; i++) {
    out.push(
      i % 5 === 4
        ? (data.referenceUsers[(i * 7) % data.referenceUsers.length] as number)
        : (data.cohortUsers[(i * 3) % data.cohortUsers.length] as number),
    );
  }
  return out;
}

async function alarmState(ctx: StoryContext, pattern: RegExp) {
  const d = await ctx.rt.alarms.describe({ AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] });
  return [...d.MetricAlarms, ...d.CompositeAlarms].filter((a) => pattern.test(a.AlarmName));
}

/**
 * Shifted traffic through the API, then the drift job's state machine started as its
 * schedule rule starts it (target and input from the template): drift is found, the drift
 * alarms fire, and the job publishes DriftDetected.
 */
export async function detectDrift(
  ctx: StoryContext,
  users: readonly number[],
  step: string,
): Promise<Served[]> {
  const served = await serve(ctx, users, { batch: 5, concurrency: 2 });
  ctx.say(`served ${served.length} requests of today's traffic (${tally(served)})`);
  await ctx.rt.logSubscriptions.flush();
  const target = scheduledTargets(ctx.rt.plan).find((t) => /DriftJob/.test(t.stateMachine));
  if (!target) throw new StoryStepError(step, 'the template has no scheduled drift job');
  const startedAt = Date.now();
  const run = await ctx.rt.stepFunctions.run(target.stateMachine, {
    name: `story-drift-${startedAt}`,
    input: target.input as never,
  });
  if (run.status !== 'SUCCEEDED')
    throw new StoryStepError(
      step,
      `drift job ${run.status}: ${run.error?.Error} ${String(run.error?.Cause ?? '')}`,
    );
  // biome-ignore lint/suspicious/noExplicitAny: the job's summary is read field by field
  const results = ((run.output as any)?.results ?? []) as any[];
  ctx.say(
    `drift job (schedule ${target.expression}, window ${target.input && (target.input as { windowHours?: number }).windowHours}h):`,
  );
  for (const r of results) {
    ctx.say(
      `  v${r.version}: ${r.rows} rows, ${r.verdict}${r.drifted ? `, DRIFT: ${r.reasons.join('; ')}` : ''}${r.published ? ' → DriftDetected published' : ''}`,
    );
  }
  const drifted = results.find((r) => r.published) ?? results.find((r) => r.drifted);
  if (!drifted) throw new StoryStepError(step, 'the drift job found no drift in the shifted traffic');
  if (drifted.report?.html) {
    const store = new FsObjectStore(join(ctx.rt.dataDir, 's3'));
    const html = new TextDecoder().decode(await store.get('monitoring', drifted.report.html));
    const json = JSON.parse(new TextDecoder().decode(await store.get('monitoring', drifted.report.json)));
    ctx.facts.driftReports.push({
      title: `Drift of v${drifted.version} on the shifted traffic`,
      html,
      data: json,
    });
    ctx.say(`  report: ${join(ctx.rt.dataDir, 's3', 'monitoring', drifted.report.html)}`);
  }
  const alarm = await ctx.until(
    'the drift alarm',
    async () => (await alarmState(ctx, /DriftAlarm/)).find((a) => a.StateValue === 'ALARM'),
    90,
  );
  const children = (await alarmState(ctx, /Monitoring/)).filter((a) => a.StateValue === 'ALARM');
  ctx.say(
    `alarm ${alarm.AlarmName}: ALARM (${children
      .map((a) => a.AlarmName)
      .filter((n) => n !== alarm.AlarmName)
      .join(', ')})`,
  );
  ctx.facts.drift = {
    version: String(drifted.version),
    reasons: drifted.reasons,
    ...(drifted.report?.json ? { reportKey: drifted.report.json } : {}),
    alarm: alarm.AlarmName,
  };
  return served;
}

/**
 * The retraining nobody started by hand: the pipeline's DriftTrigger rule matched the job's
 * DriftDetected event on the local bus and started an execution with `trigger: drift`.
 */
export async function retraining(ctx: StoryContext, step: string): Promise<void> {
  const drifted = ctx.facts.drift;
  if (!drifted) throw new StoryStepError(step, 'no drift was detected');
  const matched = () =>
    ctx.events
      .filter((l) => /DriftDetected matched .*DriftTrigger/.test(l))
      .map((l) => ({ line: l, name: /starting (\S+)/.exec(l)?.[1] as string }));
  await ctx.until('the DriftTrigger rule to start the pipeline', async () => matched().length > 0, 60);
  const machine = pipelineMachine(ctx);
  // Every execution the rule started (one per drifted version) runs to its end first.
  const records = new Map<string, ExecutionRecord>();
  await ctx.until(
    'the retraining to finish',
    async () => {
      for (const m of matched()) {
        const r = ctx.rt.stepFunctions.describe(machine, m.name);
        if (r && r.status !== 'RUNNING') records.set(m.name, r);
      }
      return records.size === matched().length ? true : undefined;
    },
    900,
  );
  for (const m of matched()) {
    const r = records.get(m.name);
    ctx.say(`event rule: ${m.line}`);
    ctx.say(`  → ${r?.status}: "${(r?.input as { reason?: string } | undefined)?.reason ?? ''}"`);
  }
  const ours = [...records.values()].find((r) =>
    String((r.input as { reason?: string }).reason ?? '').startsWith(
      `${ctx.facts.model} v${drifted.version}:`,
    ),
  );
  if (!ours) throw new StoryStepError(step, `no retraining names v${drifted.version} as its reason`);
  const input = ours.input as { trigger?: string; reason?: string };
  ctx.say(`execution ${ours.name}: trigger=${input.trigger}, reason "${input.reason}"`);
  const state = describeRun(ctx, ours, step);
  ctx.facts.retraining = {
    execution: ours.name,
    trigger: String(input.trigger),
    ...(input.reason ? { reason: input.reason } : {}),
    ...(state.registration ? { registered: String(state.registration.version) } : {}),
  };
  if (!state.registration)
    throw new StoryStepError(
      step,
      `the retrained candidate did not win its evaluation: ${(state.evaluation?.reasons ?? []).join('; ')}`,
    );
  ctx.facts.versions.retrained = String(state.registration.version);
}

/** The retrained version goes through its canary on today's traffic and becomes Production. */
export async function deployRetrained(
  ctx: StoryContext,
  users: readonly number[],
  step: string,
): Promise<void> {
  const version = ctx.facts.versions.retrained;
  if (!version) throw new StoryStepError(step, 'no retrained version');
  const { record } = await deployThroughCanary(ctx, version, users);
  if (record.status !== 'live')
    throw new StoryStepError(
      step,
      `the canary of v${version} ended ${record.status}: ${record.rollback_reason ?? record.refusal_reason ?? ''}`,
    );
  ctx.say(
    `v${version} is live: ${(record.steps ?? '')
      .replace(/@[^,]+/g, '')
      .split(',')
      .join(' → ')}`,
  );
  await promote(ctx, version);
}
