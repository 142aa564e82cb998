import { existsSync, statSync, watch } from 'node:fs';
import { open } from 'node:fs/promises';
import type { PublishedEvent } from '../lambdas/platform/events';
import { localEventLog } from '../lambdas/platform/file-events';
import type { LocalStepFunctions } from './stepfunctions';
import { type LocalPlan, stateMachineTargets } from './template';

/** An EventBridge rule of the template that starts a state machine on matching events. */
export interface EventRule {
  readonly rule: string;
  readonly pattern: Record<string, unknown>;
  readonly stateMachine: string;
  readonly input?: unknown;
  readonly transformer?: { readonly paths: Record<string, string>; readonly template: string };
}

/** The template's event-pattern rules whose target is a state machine. */
export function eventRules(plan: LocalPlan): EventRule[] {
  return stateMachineTargets(plan)
    .filter((t) => t.properties.EventPattern)
    .map(({ rule, properties, target: t, stateMachine }) => ({
      rule,
      pattern: properties.EventPattern,
      stateMachine,
      input: typeof t.Input === 'string' ? JSON.parse(t.Input) : undefined,
      transformer: t.InputTransformer
        ? { paths: t.InputTransformer.InputPathsMap ?? {}, template: t.InputTransformer.InputTemplate }
        : undefined,
    }));
}

/** The event as EventBridge delivers it to targets. */
export function toBusEvent(e: PublishedEvent, id: string): Record<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': e.detailType,
    source: e.source,
    account: '000000000000',
    time: e.time,
    region: 'us-east-1',
    resources: [],
    detail: e.detail,
  };
}

/** EventBridge pattern matching for the forms rules use here: value lists, nested objects, prefix. */
export function matches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((p) => {
      if (p && typeof p === 'object' && 'prefix' in p)
        return typeof value === 'string' && value.startsWith(String(p.prefix));
      if (p && typeof p === 'object' && 'exists' in p) return (value !== undefined) === Boolean(p.exists);
      return Array.isArray(value) ? value.includes(p) : value === p;
    });
  }
  if (pattern && typeof pattern === 'object') {
    if (!value || typeof value !== 'object') return false;
    return Object.entries(pattern).every(([k, p]) => matches(p, (value as Record<string, unknown>)[k]));
  }
  return pattern === value;
}

function pathValue(event: unknown, path: string): unknown {
  let cur = event;
  for (const part of path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * The target input for an event: the rule's constant input, or its input transformer
 * applied (placeholders `<name>` filled from the paths map; quoted ones with the raw text).
 */
export function targetInput(rule: EventRule, event: Record<string, unknown>): unknown {
  if (!rule.transformer) return rule.input ?? event;
  let text = rule.transformer.template;
  for (const [name, path] of Object.entries(rule.transformer.paths)) {
    const value = pathValue(event, path);
    text = text.replaceAll(
      `"<${name}>"`,
      JSON.stringify(value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value)),
    );
    text = text.replaceAll(`<${name}>`, JSON.stringify(value ?? null));
  }
  return JSON.parse(text);
}

/**
 * Routes the local event log (`<dataDir>/events/events.jsonl`, where functions publish
 * locally) to the template's event rules while `mlops up` runs, as EventBridge routes
 * events to targets: a drift event starts the training pipeline. Only events appended
 * after it starts are routed. Returns a function that stops it.
 */
export function routeEvents(
  plan: LocalPlan,
  dataDir: string,
  sfn: LocalStepFunctions,
  log: (line: string) => void,
): () => void {
  const rules = eventRules(plan);
  const file = localEventLog(dataDir);
  let offset = existsSync(file) ? statSync(file).size : 0;
  let busy = Promise.resolve();
  let seq = 0;
  const drain = () => {
    busy = busy.then(async () => {
      if (!existsSync(file)) return;
      const handle = await open(file, 'r');
      try {
        const { size } = await handle.stat();
        if (size <= offset) return;
        const buf = Buffer.alloc(size - offset);
        await handle.read(buf, 0, buf.length, offset);
        const text = buf.toString('utf8');
        const complete = text.lastIndexOf('\n') + 1;
        offset += Buffer.byteLength(text.slice(0, complete));
        for (const line of text.slice(0, complete).split('\n').filter(Boolean)) {
          const event = toBusEvent(JSON.parse(line) as PublishedEvent, `local-${Date.now()}-${seq++}`);
          for (const rule of rules.filter((r) => matches(r.pattern, event))) {
            const name = `event-${String(event['detail-type'])}-${event.id}`;
            log(`${event.source}/${event['detail-type']} matched ${rule.rule}: starting ${name}`);
            void sfn
              .run(rule.stateMachine, { name, input: targetInput(rule, event) as never })
              .then((r) => log(`${name}: ${r.status}${r.error ? ` (${r.error.Error})` : ''}`))
              .catch((err) => log(`${name}: could not start: ${(err as Error).message}`));
          }
        }
      } finally {
        await handle.close();
      }
    });
  };
  const timer = setInterval(drain, 1000);
  timer.unref();
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    watcher = watch(file.replace(/events\.jsonl$/, ''), () => drain());
  } catch {
    // The events folder appears with the first event; the timer covers it until then.
  }
  return () => {
    clearInterval(timer);
    watcher?.close();
  };
}
