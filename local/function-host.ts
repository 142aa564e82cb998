import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { REPO_ROOT } from '../lib/private/platform-function';
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

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  deadline: number;
}

let nextId = 0;

class FunctionInstance {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private sweeper: NodeJS.Timeout | undefined;
  readonly ready: Promise<void>;

  constructor(
    readonly fn: LocalFunction,
    env: Record<string, string>,
  ) {
    this.worker = new Worker(WORKER, {
      env,
      workerData: { entryPath: resolve(REPO_ROOT, fn.entry), handler: fn.handler },
    });
    this.worker.unref();
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.worker.on('message', (msg) => {
        if (msg.type === 'ready') resolveReady();
        else if (msg.type === 'init-error') {
          rejectReady(
            new FunctionError(fn.logicalId, msg.error.errorType, `init failed: ${msg.error.errorMessage}`),
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
    result?: string;
    error?: { errorType: string; errorMessage: string };
  }) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.stopSweeper();
    if (msg.type === 'result') p.resolve(msg.result === undefined ? undefined : JSON.parse(msg.result));
    else {
      p.reject(
        new FunctionError(this.fn.logicalId, msg.error?.errorType ?? 'Error', msg.error?.errorMessage ?? ''),
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
            this.fn.logicalId,
            'TimeoutError',
            `Task timed out after ${this.fn.timeoutSeconds} seconds`,
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

  async invoke(event: unknown): Promise<unknown> {
    await this.ready;
    const id = nextId++;
    const timeoutMs = this.fn.timeoutSeconds * 1000;
    return new Promise((resolveInvoke, rejectInvoke) => {
      this.pending.set(id, {
        resolve: resolveInvoke,
        reject: rejectInvoke,
        deadline: Date.now() + timeoutMs,
      });
      this.startSweeper();
      // Events cross the thread boundary as JSON text, as they reach Lambda: cheaper
      // than a structured clone of the object graph.
      this.worker.postMessage({
        id,
        event: JSON.stringify(event),
        context: {
          awsRequestId: `local-${id}`,
          functionName: this.fn.logicalId,
          functionVersion: '$LATEST',
          invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${this.fn.logicalId}`,
          memoryLimitInMB: '512',
          timeoutMs,
        },
      });
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * Runs the template's functions locally: one worker thread per function, started on
 * first use (a cold start), with the environment the template gives it resolved to
 * local resources.
 */
export class FunctionHost {
  private readonly instances = new Map<string, FunctionInstance>();

  constructor(
    private readonly functions: Map<string, LocalFunction>,
    private readonly envFor: (fn: LocalFunction) => Record<string, string>,
  ) {}

  /** Invokes a function by logical id with an event; resolves with its result. */
  async invoke(functionId: string, event: unknown): Promise<unknown> {
    return this.instance(functionId).invoke(event);
  }

  private instance(functionId: string): FunctionInstance {
    let inst = this.instances.get(functionId);
    if (!inst) {
      const fn = this.functions.get(functionId);
      if (!fn) throw new Error(`no function ${functionId} in the template`);
      inst = new FunctionInstance(fn, this.envFor(fn));
      this.instances.set(functionId, inst);
    }
    return inst;
  }

  /** Starts every function now, so the first request does not pay the cold start; init errors surface here. */
  async warm(): Promise<void> {
    await Promise.all([...this.functions.keys()].map((id) => this.instance(id).ready));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => i.stop()));
    this.instances.clear();
  }
}
