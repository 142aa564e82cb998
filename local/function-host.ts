import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { REPO_ROOT } from '../lib/private/platform-function';
import type { RawHttpRequest } from './proxy-event';
import type { LocalFunction } from './template';

const WORKER = fileURLToPath(new URL('./function-worker.mjs', import.meta.url));

/** An error the handler threw (Lambda reports these as `Unhandled` function errors). */
export class FunctionError extends Error {
  constructor(
    readonly functionId: string,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = 'FunctionError';
  }
}

/** When a handler ran, in epoch milliseconds (sub-millisecond precision), inside its sandbox. */
export type HandlerTiming = readonly [startedAt: number, endedAt: number];

interface Pending {
  onTiming?: (t: HandlerTiming) => void;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  deadline: number;
  fn: LocalFunction;
}

let nextId = 0;

/** Hands a worker's stdout lines to a consumer; lines it does not take are printed. */
function takeLines(text: string, onLine: (line: string) => boolean): void {
  for (const line of text.split('\n')) {
    if (!onLine(line)) process.stdout.write(`${line}\n`);
  }
}

/** One worker thread running one handler module with one environment. */
class Sandbox {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private sweeper: NodeJS.Timeout | undefined;
  private outbox: unknown[] = [];
  readonly ready: Promise<void>;

  constructor(
    entry: string,
    handlers: string[],
    env: Record<string, string>,
    onStdoutLine?: (line: string) => boolean,
  ) {
    this.worker = new Worker(WORKER, {
      env,
      // The worker sends its stdout lines as messages, ordered with its replies.
      workerData: { entryPath: resolve(REPO_ROOT, entry), handlers, captureStdout: Boolean(onStdoutLine) },
    });
    this.worker.unref();
    const take = (text: string) => (onStdoutLine ? takeLines(text, onStdoutLine) : undefined);
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.worker.on('message', (msg) => {
        if (msg.type === 'batch') {
          for (const m of msg.items) {
            if (m.type === 'log') take(m.text);
            else this.settle(m);
          }
        } else if (msg.type === 'log') take(msg.text);
        else if (msg.type === 'ready') resolveReady();
        else if (msg.type === 'init-error') {
          rejectReady(
            new FunctionError(entry, msg.error.errorType, `init failed: ${msg.error.errorMessage}`),
          );
        } else this.settle(msg);
      });
      this.worker.on('error', (err) => {
        rejectReady(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    });
    // Without a listener, an init failure would be an unhandled rejection before first use.
    this.ready.catch(() => undefined);
  }

  private settle(msg: {
    id: number;
    type: string;
    result?: unknown;
    error?: { errorType: string; errorMessage: string };
    timing?: HandlerTiming;
  }) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.timing) p.onTiming?.(msg.timing);
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.stopSweeper();
    if (msg.type === 'result') {
      p.resolve(typeof msg.result === 'string' ? JSON.parse(msg.result) : msg.result);
    } else {
      p.reject(
        new FunctionError(p.fn.logicalId, msg.error?.errorType ?? 'Error', msg.error?.errorMessage ?? ''),
      );
    }
  }

  /** One timer for all in-flight invocations instead of a timer per request. */
  private startSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [id, p] of this.pending) {
        if (p.deadline > now) continue;
        this.pending.delete(id);
        p.reject(
          new FunctionError(
            p.fn.logicalId,
            'TimeoutError',
            `Task timed out after ${p.fn.timeoutSeconds} seconds`,
          ),
        );
      }
      if (this.pending.size === 0) this.stopSweeper();
    }, 100);
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  async invoke(
    fn: LocalFunction,
    event: unknown,
    onTiming?: (t: HandlerTiming) => void,
    kind: 'event' | 'http' = 'event',
  ): Promise<unknown> {
    await this.ready;
    const id = nextId++;
    const timeoutMs = fn.timeoutSeconds * 1000;
    return new Promise((resolveInvoke, rejectInvoke) => {
      this.pending.set(id, {
        resolve: resolveInvoke,
        reject: rejectInvoke,
        deadline: Date.now() + timeoutMs,
        fn,
        onTiming,
      });
      this.startSweeper();
      // Events cross the thread boundary as JSON text, as they reach Lambda: cheaper
      // than a structured clone of the object graph.
      this.send({
        id,
        handler: fn.handler,
        kind,
        // A raw HTTP request crosses as is (small, flat); other events as JSON text.
        event: kind === 'http' ? event : JSON.stringify(event),
        context: {
          awsRequestId: `local-${id}`,
          functionName: fn.logicalId,
          functionVersion: '$LATEST',
          invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${fn.logicalId}`,
          memoryLimitInMB: '512',
          timeoutMs,
        },
      });
    });
  }

  /**
   * Queues a message for the sandbox; everything queued in one turn of the event loop
   * crosses in one postMessage (under load, many requests arrive per turn, and each
   * message costs a wake-up of the other thread).
   */
  private send(message: unknown): void {
    this.outbox.push(message);
    if (this.outbox.length === 1) {
      setImmediate(() => {
        const items = this.outbox;
        this.outbox = [];
        this.worker.postMessage(items.length === 1 ? items[0] : { type: 'batch', items });
      });
    }
  }

  async stop(): Promise<void> {
    this.stopSweeper();
    await this.worker.terminate();
  }
}

/**
 * Runs the template's functions locally in worker threads, started on first use (a cold
 * start), each with the environment the template gives it resolved to local resources.
 * Functions built from the same module with the same environment (the pipeline's steps)
 * share a sandbox, as one Lambda function with several handlers would.
 */
export class FunctionHost {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly functions: Map<string, LocalFunction>,
    private readonly envFor: (fn: LocalFunction) => Record<string, string>,
    /**
     * Sees each line a function writes to stdout, as CloudWatch Logs would (alarms read
     * embedded metrics from it, log subscriptions deliver it), with the functions of the
     * sandbox that wrote it; a line it returns true for is consumed, others are printed.
     */
    private readonly onStdoutLine?: (line: string, functionIds: readonly string[]) => boolean,
    /**
     * Functions that get a sandbox of their own even when another function shares their
     * module and environment, so their log lines are theirs alone (a subscription's source).
     */
    private readonly ownSandbox: ReadonlySet<string> = new Set(),
  ) {}

  /** Which sandbox a function runs in: one per module and environment, unless it has its own. */
  private keyOf(fn: LocalFunction): string {
    const shared = `${fn.entry}\n${JSON.stringify(this.envFor(fn))}`;
    // A published version (`<function>:<n>`) is its function's for this purpose.
    return this.ownSandbox.has(fn.logicalId.split(':')[0] as string) ? `${shared}\n${fn.logicalId}` : shared;
  }

  private sandbox(functionId: string): { sandbox: Sandbox; fn: LocalFunction } {
    const fn = this.functions.get(functionId);
    if (!fn) throw new Error(`no function ${functionId} in the template`);
    let key = this.keys.get(functionId);
    if (!key) {
      key = this.keyOf(fn);
      this.keys.set(functionId, key);
    }
    let sandbox = this.sandboxes.get(key);
    if (!sandbox) {
      const env = this.envFor(fn);
      const members = [...this.functions.values()].filter(
        (f) => f.entry === fn.entry && this.keyOf(f) === key,
      );
      const ids = members.map((f) => f.logicalId);
      const onLine = this.onStdoutLine;
      sandbox = new Sandbox(
        fn.entry,
        [...new Set(members.map((f) => f.handler))],
        env,
        onLine && ((line) => onLine(line, ids)),
      );
      this.sandboxes.set(key, sandbox);
    }
    return { sandbox, fn };
  }

  /**
   * Invokes a function by logical id with an event; resolves with its result. `onTiming`
   * learns when the handler itself ran (to tell task time from orchestration time).
   */
  async invoke(functionId: string, event: unknown, onTiming?: (t: HandlerTiming) => void): Promise<unknown> {
    const { sandbox, fn } = this.sandbox(functionId);
    return sandbox.invoke(fn, event, onTiming);
  }

  /** Invokes a function behind an API route with a raw request; its sandbox builds the proxy event. */
  async invokeHttp(functionId: string, request: RawHttpRequest): Promise<unknown> {
    const { sandbox, fn } = this.sandbox(functionId);
    return sandbox.invoke(fn, request, undefined, 'http');
  }

  /**
   * Starts the given functions now (default: all), so their first request does not pay
   * the cold start; init errors surface here.
   */
  async warm(functionIds: Iterable<string> = this.functions.keys()): Promise<void> {
    await Promise.all([...functionIds].map((id) => this.sandbox(id).sandbox.ready));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sandboxes.values()].map((s) => s.stop()));
    this.sandboxes.clear();
  }
}
