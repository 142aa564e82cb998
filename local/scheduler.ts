import { nextFireTime, parseSchedule } from '../lambdas/pipeline/schedule';
import type { LocalStepFunctions } from './stepfunctions';
import { type LocalPlan, stateMachineTargets } from './template';

export interface ScheduledTarget {
  readonly rule: string;
  readonly expression: string;
  readonly stateMachine: string;
  readonly input: unknown;
}

/** A schedule rule's Lambda function target (the performance job). */
export interface ScheduledFunction {
  readonly rule: string;
  readonly expression: string;
  readonly functionId: string;
  /** The target's `Input`, else undefined (EventBridge then sends the Scheduled Event). */
  readonly input: unknown;
}

/** The event EventBridge sends a scheduled target that has no `Input`. */
export function scheduledEvent(rule: string, at: Date): Record<string, unknown> {
  return {
    version: '0',
    id: `schedule-${at.getTime()}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    resources: [rule],
    detail: {},
  };
}

/** The template's enabled EventBridge schedule rules whose target is a Lambda function. */
export function scheduledFunctions(plan: LocalPlan): ScheduledFunction[] {
  const out: ScheduledFunction[] = [];
  for (const [id, r] of Object.entries(plan.template.Resources)) {
    const p = r.Properties;
    if (r.Type !== 'AWS::Events::Rule' || !p?.ScheduleExpression || p.State === 'DISABLED') continue;
    for (const t of p.Targets ?? []) {
      const att = t.Arn?.['Fn::GetAtt'] as [string, string] | undefined;
      if (!att || !plan.functions.has(att[0])) continue;
      out.push({
        rule: id,
        expression: p.ScheduleExpression,
        functionId: att[0],
        input: typeof t.Input === 'string' ? JSON.parse(t.Input) : undefined,
      });
    }
  }
  return out;
}

/** The template's EventBridge schedule rules that start a state machine, with their input. */
export function scheduledTargets(plan: LocalPlan): ScheduledTarget[] {
  return stateMachineTargets(plan)
    .filter((t) => t.properties.ScheduleExpression)
    .map((t) => ({
      rule: t.rule,
      expression: t.properties.ScheduleExpression,
      stateMachine: t.stateMachine,
      input: typeof t.target.Input === 'string' ? JSON.parse(t.target.Input) : {},
    }));
}

/**
 * Fires the template's schedules locally while `mlops up` runs: at each fire time the
 * rule's state machine starts with the rule's input, or (given `lambda`) its function is
 * invoked with the rule's input or the Scheduled Event, as EventBridge would.
 * Returns a function that stops the timers.
 */
export function startSchedules(
  plan: LocalPlan,
  sfn: LocalStepFunctions,
  log: (line: string) => void,
  now: () => Date = () => new Date(),
  lambda?: {
    invoke(functionName: string, qualifier: string | undefined, payload: unknown): Promise<unknown>;
  },
): () => void {
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const targets: { expression: string; fire: (at: Date) => Promise<string> }[] = [
    ...scheduledTargets(plan).map((t) => ({
      expression: t.expression,
      fire: async (at: Date) => {
        const name = `schedule-${at.toISOString().replace(/[:.]/g, '-')}`;
        const r = await sfn.run(t.stateMachine, { name, input: t.input as never });
        return `${name}: ${r.status}${r.error ? ` (${r.error.Error})` : ''}`;
      },
    })),
    ...(lambda ? scheduledFunctions(plan) : []).map((f) => ({
      expression: f.expression,
      fire: async (at: Date) => {
        await lambda!.invoke(f.functionId, undefined, f.input ?? scheduledEvent(f.rule, at));
        return `${f.functionId}: invoked`;
      },
    })),
  ];
  for (const target of targets) {
    const schedule = parseSchedule(target.expression);
    const arm = () => {
      if (stopped) return;
      const at = nextFireTime(schedule, now());
      log(`schedule ${target.expression}: next run at ${at.toISOString()}`);
      // setTimeout holds at most ~24.8 days; re-arm in steps.
      const wait = Math.min(at.getTime() - now().getTime(), 2 ** 31 - 1);
      const timer = setTimeout(async () => {
        if (now() < at) return arm();
        log(`schedule fired: ${target.expression}`);
        try {
          log(await target.fire(at));
        } catch (err) {
          log(`schedule ${target.expression}: could not start: ${(err as Error).message}`);
        }
        arm();
      }, wait);
      timer.unref();
      timers.push(timer);
    };
    arm();
  }
  return () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
  };
}
