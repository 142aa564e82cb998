import './polyfills';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { ConflictError, NotFoundError } from '../lambdas/platform/errors';
import { FsObjectStore } from '../lambdas/platform/fs-object-store';
import { type DistributedMapSpec, rewriteDistributedMaps, runDistributedMap } from './distributed-map';
import { FunctionError, type FunctionHost, type HandlerTiming } from './function-host';
import { resolveValue } from './resources';
import type { LocalPlan } from './template';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface LocalStateMachine {
  readonly logicalId: string;
  /** The definition with function ARNs resolved to local ones. */
  readonly definition: Record<string, any>;
  /** Task state name → the function it invokes, for every Task (nested Map/Parallel included). */
  readonly taskFunctions: Map<string, string>;
  /** Task state names that publish to SNS. */
  readonly snsTasks: Set<string>;
  /** Task state name → the AWS SDK integration it calls (`cloudwatch:describeAlarms`). */
  readonly sdkTasks: Map<string, string>;
  /** The definition the engine runs: Distributed Maps (ItemReader, ResultWriter) become local Tasks. */
  readonly runnable: Record<string, any>;
  /** Those Distributed Maps, by state name. */
  readonly distributedMaps: Map<string, DistributedMapSpec>;
}

const FUNCTION_ARN = /^arn:aws:lambda:[^:]+:\d+:function:([^:]+)$/;
/** An AWS SDK service integration (`arn:aws:states:::aws-sdk:cloudwatch:describeAlarms`). */
const SDK_TASK = /^arn:aws:states:::aws-sdk:/;

/** Local implementations of AWS SDK integrations, by `service:action`. */
export type LocalSdkIntegrations = Record<string, (input: unknown) => Promise<unknown>>;

/** Reads every state machine of the template, resolving its definition to local ARNs. */
export function readStateMachines(plan: LocalPlan): Map<string, LocalStateMachine> {
  const out = new Map<string, LocalStateMachine>();
  for (const [id, r] of Object.entries(plan.template.Resources)) {
    if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const text = resolveValue(r.Properties?.DefinitionString, plan);
    if (!text) throw new Error(`state machine ${id}: cannot resolve its definition locally`);
    const definition = JSON.parse(text) as Record<string, any>;
    const taskFunctions = new Map<string, string>();
    const snsTasks = new Set<string>();
    const sdkTasks = new Map<string, string>();
    const walk = (states: Record<string, any>) => {
      for (const [name, state] of Object.entries(states ?? {})) {
        if (state.Type === 'Task') {
          const m = FUNCTION_ARN.exec(String(state.Resource));
          if (m) taskFunctions.set(name, m[1] as string);
          else if (String(state.Resource).startsWith('arn:aws:states:::sns:publish')) snsTasks.add(name);
          else if (SDK_TASK.test(String(state.Resource)))
            sdkTasks.set(name, String(state.Resource).replace(SDK_TASK, ''));
          else {
            throw new Error(
              `state machine ${id}, state '${name}': resource ${state.Resource} cannot run locally; ` +
                'invoke Lambda functions directly (LambdaInvoke with payloadResponseOnly)',
            );
          }
        }
        if (state.Type === 'Map') walk((state.ItemProcessor ?? state.Iterator)?.States);
        if (state.Type === 'Parallel') for (const b of state.Branches ?? []) walk(b.States);
      }
    };
    walk(definition.States);
    const distributedMaps = new Map<string, DistributedMapSpec>();
    const runnable = {
      ...definition,
      States: rewriteDistributedMaps(id, definition.States, distributedMaps),
    };
    out.set(id, { logicalId: id, definition, taskFunctions, snsTasks, sdkTasks, runnable, distributedMaps });
  }
  return out;
}

export interface ExecutionEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly state?: { name: string; type: string };
  readonly Error?: string;
  readonly Cause?: unknown;
  readonly index?: number;
}

export interface ExecutionRecord {
  readonly executionArn: string;
  readonly name: string;
  readonly stateMachine: string;
  readonly input: Json;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: Json;
  error?: { Error: string; Cause: unknown };
  readonly startDate: string;
  stopDate?: string;
  /** Per-state durations in ms (what the execution history shows on AWS). */
  stateDurations: Record<string, number>;
  /** Wall time during which at least one task was running, in ms (the rest is orchestration). */
  taskBusyMs?: number;
  wallMs?: number;
}

export interface StartExecutionOptions {
  readonly name: string;
  readonly input: Json;
  readonly onEvent?: (event: ExecutionEvent) => void;
  /** Retry waits shortened for local runs (ms). @default 10 */
  readonly retryIntervalMs?: number;
}

/**
 * Runs the template's state machines locally with aws-local-stepfunctions: every Task
 * that invokes a Lambda function runs the same handler module in the function host,
 * SNS publishes land in `<dataDir>/events/notifications.jsonl`. Executions are keyed by
 * name as on AWS: starting a name again returns the first execution instead of
 * running twice (and a different input under that name is refused).
 */
export class LocalStepFunctions {
  readonly machines: Map<string, LocalStateMachine>;
  /** Executions running in this process, by `<machine>/<name>`: what `stop()` aborts. */
  private readonly running = new Map<string, (error: string, cause: string) => void>();

  constructor(
    plan: LocalPlan,
    private readonly host: FunctionHost,
    private readonly dataDir: string,
    private readonly sdk: LocalSdkIntegrations = {},
  ) {
    this.machines = readStateMachines(plan);
  }

  /** Refuses, before it starts, a machine with an SDK task this runtime was given no integration for. */
  private assertRunnable(m: LocalStateMachine): void {
    for (const [state, action] of m.sdkTasks) {
      if (!this.sdk[action]) {
        throw new Error(
          `state machine ${m.logicalId}, state '${state}': aws-sdk:${action} cannot run locally`,
        );
      }
    }
  }

  /** Finds a state machine by logical id or by a substring of it (e.g. 'TrainingPipeline'). */
  find(nameOrId: string): LocalStateMachine {
    const exact = this.machines.get(nameOrId);
    if (exact) return exact;
    const matches = [...this.machines.values()].filter((m) => m.logicalId.includes(nameOrId));
    if (matches.length !== 1) {
      throw new NotFoundError(
        `No single state machine matches '${nameOrId}'; known: ${[...this.machines.keys()].join(', ') || '(none)'}`,
      );
    }
    return matches[0] as LocalStateMachine;
  }

  /** Starts the sandboxes of a state machine's task functions now (their cold starts). */
  async warm(machineName: string): Promise<void> {
    await this.host.warm(new Set(this.find(machineName).taskFunctions.values()));
  }

  private recordPath(machine: string, name: string): string {
    return join(this.dataDir, 'executions', machine, `${encodeURIComponent(name)}.json`);
  }

  /** The stored record of an execution, if it ran before. */
  describe(machine: string, name: string): ExecutionRecord | undefined {
    const p = this.recordPath(this.find(machine).logicalId, name);
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as ExecutionRecord) : undefined;
  }

  /**
   * Stops a running execution as StopExecution does: no further state runs and it ends
   * ABORTED with the error and cause given. False when it is not running in this process.
   */
  stop(machine: string, name: string, error = '', cause = ''): boolean {
    const abort = this.running.get(`${this.find(machine).logicalId}/${name}`);
    abort?.(error, cause);
    return abort !== undefined;
  }

  /** Starts (or, for a name that ran before, returns) an execution and waits for its end. */
  async run(
    machineName: string,
    options: StartExecutionOptions,
  ): Promise<ExecutionRecord & { reused: boolean }> {
    const machine = this.find(machineName);
    this.assertRunnable(machine);
    const path = this.recordPath(machine.logicalId, options.name);
    if (existsSync(path)) {
      const previous = JSON.parse(readFileSync(path, 'utf8')) as ExecutionRecord;
      if (JSON.stringify(previous.input) !== JSON.stringify(options.input)) {
        throw new ConflictError(
          `Execution '${options.name}' already exists with a different input (ExecutionAlreadyExists)`,
        );
      }
      if (previous.status !== 'RUNNING') return { ...previous, reused: true };
    }
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:${machine.logicalId}:${options.name}`;
    const record: ExecutionRecord = {
      executionArn,
      name: options.name,
      stateMachine: machine.logicalId,
      input: options.input,
      status: 'RUNNING',
      startDate: new Date().toISOString(),
      stateDurations: {},
    };
    mkdirSync(join(this.dataDir, 'executions', machine.logicalId), { recursive: true });
    // Temp file and rename: a process killed mid-write must not leave truncated JSON that
    // makes every later run of this execution name fail to parse its record.
    const save = () => {
      writeFileSync(`${path}.tmp-${process.pid}`, JSON.stringify(record, null, 2));
      renameSync(`${path}.tmp-${process.pid}`, path);
    };
    save();

    const handlers: Record<string, (input: any) => Promise<any>> = {};
    // Task time is the union of the intervals in which handlers ran (parallel trials
    // overlap); the rest of the wall time is orchestration, hops to sandboxes included.
    const intervals: HandlerTiming[] = [];
    const onTiming = (t: HandlerTiming) => intervals.push(t);
    for (const [state, fnId] of machine.taskFunctions) {
      handlers[state] = async (input) => {
        try {
          return await this.host.invoke(fnId, input, onTiming);
        } catch (err) {
          // Retry and Catch match on the error's name, as Step Functions matches errorType.
          const e = new Error(err instanceof Error ? err.message : String(err));
          e.name = err instanceof FunctionError ? err.errorType : 'States.TaskFailed';
          throw e;
        }
      };
    }
    for (const state of machine.snsTasks) {
      handlers[state] = async (input) => {
        const dir = join(this.dataDir, 'events');
        mkdirSync(dir, { recursive: true });
        appendFileSync(
          join(dir, 'notifications.jsonl'),
          `${JSON.stringify({ time: new Date().toISOString(), executionArn, state, message: input })}\n`,
        );
        return { MessageId: `local-${Date.now()}` };
      };
    }
    for (const [state, action] of machine.sdkTasks) {
      const call = this.sdk[action] as (input: unknown) => Promise<unknown>;
      handlers[state] = async (input) => call(input);
    }
    const retryIntervalOverrides: Record<string, number> = {};
    for (const s of [
      ...machine.taskFunctions.keys(),
      ...machine.snsTasks,
      ...machine.sdkTasks.keys(),
      ...machine.distributedMaps.keys(),
    ])
      retryIntervalOverrides[s] = options.retryIntervalMs ?? 10;

    const stateMachineArn = `arn:aws:states:us-east-1:000000000000:stateMachine:${machine.logicalId}`;
    const context = {
      Execution: {
        Id: executionArn,
        Name: options.name,
        Input: options.input,
        StartTime: record.startDate,
      },
      StateMachine: { Id: stateMachineArn, Name: machine.logicalId },
    };
    const runOptions = { overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides } };
    const wallStarted = performance.now();
    const entered = new Map<string, number>();
    // On failure the engine returns no output: keep the last state's, which on the failure
    // path carries what Mark Failed recorded.
    let lastOutput: Json | undefined;
    const onEngineEvent = (ev: ExecutionEvent) => {
      // Keyed by item too: parallel iterations enter the same state at once.
      const key = ev.state ? `${ev.state.name}#${ev.index ?? ''}` : '';
      if (ev.type === 'StateEntered' && ev.state) entered.set(key, ev.timestamp);
      if (ev.type === 'StateExited' && ev.state && ev.index === undefined && 'output' in ev.state) {
        lastOutput = (ev.state as { output?: Json }).output;
      }
      if ((ev.type === 'StateExited' || ev.type === 'StateFailed') && ev.state) {
        const t0 = entered.get(key);
        entered.delete(key);
        if (t0 !== undefined)
          record.stateDurations[ev.state.name] =
            (record.stateDurations[ev.state.name] ?? 0) + ev.timestamp - t0;
      }
      options.onEvent?.(ev);
    };
    const store = new FsObjectStore(join(this.dataDir, 's3'));
    for (const [state, spec] of machine.distributedMaps) {
      handlers[state] = (input) =>
        runDistributedMap(spec, input, {
          store,
          executionArn,
          stateMachineArn,
          context,
          runOptions,
          onEvent: (ev) => onEngineEvent(ev as unknown as ExecutionEvent),
        });
    }

    const sm = new StateMachine(machine.runnable as never, {
      validationOptions: { checkPaths: false, checkArn: false },
    });
    const execution = sm.run(options.input as never, { ...runOptions, context: context as never });
    const runningKey = `${machine.logicalId}/${options.name}`;
    let stopped: { Error: string; Cause: string } | undefined;
    this.running.set(runningKey, (error, cause) => {
      stopped = { Error: error, Cause: cause };
      execution.abort();
    });
    const logEvents = (async () => {
      for await (const ev of execution.eventLogs as AsyncIterable<ExecutionEvent>) onEngineEvent(ev);
    })();
    try {
      record.output = (await execution.result) as Json;
      record.status = 'SUCCEEDED';
    } catch (err) {
      const e = err as Error & { cause?: unknown };
      record.status = stopped ? 'ABORTED' : 'FAILED';
      // The engine wraps the state's error (a Fail state's Error and Cause): report that, as AWS does.
      const inner = e.name === 'ExecutionError' && e.cause instanceof Error ? e.cause : undefined;
      record.error = stopped
        ? stopped
        : inner
          ? { Error: inner.name, Cause: inner.message }
          : { Error: e.name, Cause: e.cause ?? e.message };
    } finally {
      this.running.delete(runningKey);
    }
    await logEvents.catch(() => undefined);
    if (record.status === 'FAILED' && lastOutput !== undefined) record.output = lastOutput;
    record.stopDate = new Date().toISOString();
    record.taskBusyMs = unionLength(intervals);
    record.wallMs = performance.now() - wallStarted;
    save();
    return { ...record, reused: false };
  }
}

/** Total length of the union of intervals. */
function unionLength(intervals: readonly HandlerTiming[]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = Number.NEGATIVE_INFINITY;
  let curEnd = Number.NEGATIVE_INFINITY;
  for (const [s, e] of sorted) {
    if (s > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else curEnd = Math.max(curEnd, e);
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}
