import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';

/**
 * A kernel runs one share of a task: participant `index` of `threads` (the calling thread is
 * participant 0). It reads and writes the typed arrays in `state`, which every thread sees.
 */
export type Kernel = (state: Record<string, unknown>, args: never, index: number, threads: number) => void;

/**
 * Returns the kernels. It is shipped to workers as source text (`toString()`), so it must be
 * self-contained: no imports and no references to anything outside its own body.
 */
export type KernelFactory = () => Record<string, Kernel>;

// Control words in the shared Int32Array.
const GEN = 0;
const DONE = 1;
const FAILED = 2;
const READY = 3;
/** Checks of a control word before a thread blocks on it (about 27 µs here). */
const SPIN = 5_000;

/**
 * The worker's loop, shipped as source text: wait for a task message, run it, count it done.
 * It gets `node:worker_threads` as an argument: a free `require` would be renamed by a bundler.
 */
function workerMain(wt: typeof import('node:worker_threads'), makeKernels: KernelFactory): void {
  const { port, ctrl: ctrlBuffer, index, threads, spin: spins } = wt.workerData;
  const ctrl = new Int32Array(ctrlBuffer);
  const state: Record<string, unknown> = {};
  let kernels: Record<string, Kernel> | undefined;
  try {
    kernels = makeKernels();
  } catch (e) {
    port.postMessage(String((e as Error)?.stack ?? e));
    Atomics.store(ctrl, 2, 1);
  }
  Atomics.add(ctrl, 3, 1);
  Atomics.notify(ctrl, 3);
  for (;;) {
    const seen = Atomics.load(ctrl, 0);
    const got = wt.receiveMessageOnPort(port) as
      | { message: { kind: string; task: string; args: unknown; entries: Record<string, unknown> } }
      | undefined;
    if (!got) {
      // Spin a little first: the next task usually comes within microseconds, and waking from
      // a wait takes tens of them (a training run has thousands of tasks).
      for (let spin = 0; spin < spins && Atomics.load(ctrl, 0) === seen; spin++);
      Atomics.wait(ctrl, 0, seen);
      continue;
    }
    const m = got.message;
    if (m.kind === 'exit') return;
    if (m.kind === 'share') {
      Object.assign(state, m.entries);
      continue;
    }
    try {
      kernels![m.task]!(state, m.args as never, index, threads);
    } catch (e) {
      port.postMessage(String((e as Error)?.stack ?? e));
      Atomics.store(ctrl, 2, 1);
    }
    Atomics.add(ctrl, 1, 1);
    Atomics.notify(ctrl, 1);
  }
}

/**
 * The worker's script. The loop and the kernels are compiled inside a try, so a worker that
 * cannot even start reports why at once instead of leaving the caller waiting.
 */
function workerSource(makeKernels: KernelFactory): string {
  return `
const wt = require('node:worker_threads');
const ctrl = new Int32Array(wt.workerData.ctrl);
// Bundlers that keep names wrap nested functions in __name(...).
globalThis.__name ??= (f) => f;
try {
  const main = (0, eval)(${JSON.stringify(`(${workerMain.toString()})`)});
  main(wt, (0, eval)(${JSON.stringify(`(${makeKernels.toString()})`)}));
} catch (e) {
  wt.workerData.port.postMessage(String((e && e.stack) || e));
  Atomics.store(ctrl, ${FAILED}, 1);
  Atomics.add(ctrl, ${READY}, 1);
  Atomics.notify(ctrl, ${READY});
}`;
}

/** Thrown when a worker fails to start or a kernel throws in one. */
export class WorkerPoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerPoolError';
  }
}

/**
 * Threads a training run may use: the cores the process sees, and on Lambda no more than the
 * vCPUs its memory buys (1,769 MB per vCPU, rounded: 6 at 10,240 MB), since Lambda may
 * show more cores than that.
 *
 * @example
 * const threads = defaultThreads(); // 3 on a 6,144 MB Lambda
 */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const cores = availableParallelism();
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  if (!(memory > 0)) return cores;
  return Math.max(1, Math.min(cores, Math.round(memory / 1769)));
}

/**
 * A fixed set of worker threads that run kernels over SharedArrayBuffers and block the caller
 * until every share is done, so a synchronous trainer can use every core. Workers are
 * started from source text (`new Worker(code, { eval: true })`), which works the same under
 * tsx, vitest and an esbuild bundle: no worker file has to be found on disk. With one thread
 * the kernels run inline and no worker is started.
 *
 * @example
 * const pool = new SyncPool(makeKernels, 4);
 * try {
 *   pool.share({ x: new Float64Array(new SharedArrayBuffer(8 * n)) });
 *   pool.run('square', { n });
 * } finally {
 *   pool.close();
 * }
 */
export class SyncPool {
  readonly threads: number;
  /** The arrays shared so far, as the kernels see them. */
  readonly state: Record<string, unknown> = {};
  private readonly kernels: Record<string, Kernel>;
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(16));
  private readonly ports: MessagePort[] = [];
  private readonly workers: Worker[] = [];

  constructor(makeKernels: KernelFactory, threads: number) {
    this.threads = Math.max(1, Math.floor(threads));
    this.kernels = makeKernels();
    if (this.threads === 1) return;
    const source = workerSource(makeKernels);
    for (let i = 1; i < this.threads; i++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(source, {
        eval: true,
        workerData: { port: port2, ctrl: this.ctrl.buffer, index: i, threads: this.threads, spin: SPIN },
        transferList: [port2],
        stdout: false,
        stderr: false,
      });
      worker.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
    // Workers start on their own threads; wait (bounded) until each runs its loop.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = Atomics.load(this.ctrl, READY);
      if (ready >= this.threads - 1) break;
      if (Date.now() > deadline) {
        this.close();
        throw new WorkerPoolError('Training worker threads did not start within 60 s');
      }
      Atomics.wait(this.ctrl, READY, ready, 1000);
    }
    this.throwIfFailed();
  }

  /** Makes typed arrays (over SharedArrayBuffers) visible to every thread under these names. */
  share(entries: Record<string, unknown>): void {
    Object.assign(this.state, entries);
    for (const p of this.ports) p.postMessage({ kind: 'share', entries });
  }

  /** Runs `task` on every thread with the same `args` and returns when all shares are done. */
  run(task: string, args: object): void {
    const kernel = this.kernels[task];
    if (!kernel) throw new WorkerPoolError(`No kernel named '${task}'`);
    if (this.threads === 1) {
      kernel(this.state, args as never, 0, 1);
      return;
    }
    Atomics.store(this.ctrl, DONE, 0);
    for (const p of this.ports) p.postMessage({ kind: 'task', task, args });
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    try {
      kernel(this.state, args as never, 0, this.threads);
    } finally {
      // Even when our share threw, the workers still touch shared memory: wait for them.
      for (let spin = 0; ; spin++) {
        const done = Atomics.load(this.ctrl, DONE);
        if (done >= this.threads - 1) break;
        if (spin >= SPIN) Atomics.wait(this.ctrl, DONE, done);
      }
    }
    this.throwIfFailed();
  }

  /**
   * Runs all of `task` on the calling thread (as the only participant), for work too small to
   * pay for waking the workers.
   */
  runHere(task: string, args: object): void {
    const kernel = this.kernels[task];
    if (!kernel) throw new WorkerPoolError(`No kernel named '${task}'`);
    kernel(this.state, args as never, 0, 1);
  }

  /** Stops the workers. The pool cannot run tasks afterwards. */
  close(): void {
    for (const p of this.ports) {
      p.postMessage({ kind: 'exit' });
      p.close();
    }
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    for (const w of this.workers) void w.terminate();
    this.ports.length = 0;
    this.workers.length = 0;
  }

  private throwIfFailed(): void {
    if (!Atomics.load(this.ctrl, FAILED)) return;
    const messages: string[] = [];
    for (const p of this.ports) {
      for (let m = receiveMessageOnPort(p); m; m = receiveMessageOnPort(p)) messages.push(String(m.message));
    }
    this.close();
    throw new WorkerPoolError(`A training worker failed: ${messages.join('\n') || 'unknown error'}`);
  }
}
