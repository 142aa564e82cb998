import { nextFireTime, parseSchedule } from '../lambdas/pipeline/schedule';
import type { LocalStepFunctions } from './stepfunctions';
import { type LocalPlan, stateMachineTargets } from './template';

export interface ScheduledTarget {
  readonly rule: string;
  readonly expression: string;
  readonly stateMachine: string;
  readonly input: unknown;
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
 * rule's state machine starts with the rule's input, as EventBridge would start it.
 * Returns a function that stops the timers.
 */
export function startSchedules(
  plan: LocalPlan,
  sfn: LocalStepFunctions,
  log: (line: string) => void,
  now: () => Date = () => new Date(),
): () => void {
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  for (const target of scheduledTargets(plan)) {
    const schedule = parseSchedule(target.expression);
    const arm = () => {
      if (stopped) return;
      const at = nextFireTime(schedule, now());
      log(`schedule ${target.expression}: next run at ${at.toISOString()}`);
      // setTimeout holds at most ~24.8 days; re-arm in steps.
      const wait = Math.min(at.getTime() - now().getTime(), 2 ** 31 - 1);
      const timer = setTimeout(async () => {
        if (now() < at) return arm();
        const name = `schedule-${at.toISOString().replace(/[:.]/g, '-')}`;
        log(`schedule fired: starting ${name}`);
        try {
          const r = await sfn.run(target.stateMachine, { name, input: target.input as never });
          log(`${name}: ${r.status}${r.error ? ` (${r.error.Error})` : ''}`);
        } catch (err) {
          log(`${name}: could not start: ${(err as Error).message}`);
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
