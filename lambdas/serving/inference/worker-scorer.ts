import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { Tensor } from 'onnxruntime-node';
import { InvalidParameterError } from '../../platform/errors';
import { logger } from '../../platform/observability';
import { defaultThreads } from '../../training/parallel/sync-pool';
import { type OnnxValueInfo, valueInfo } from './inspect';
import { createOnnxScorer, type Scorer } from './session';

/** A tensor as it crosses between threads: its typed array (or strings) and shape. */
interface WireTensor {
  readonly type: Tensor.Type;
  readonly dims: readonly number[];
  readonly data: Tensor['data'];
}

/** What a worker posts: started, could not start (and at which step), or one run's answer. */
type WorkerMessage =
  | {
      readonly kind: 'ready';
      readonly inputs: readonly OnnxValueInfo[];
      readonly outputs: readonly OnnxValueInfo[];
    }
  | { readonly kind: 'failed'; readonly stage: 'runtime' | 'model'; readonly message: string }
  | { readonly kind: 'result'; readonly id: number; readonly outputs: Record<string, WireTensor> }
  | { readonly kind: 'error'; readonly id: number; readonly name: string; readonly message: string };

/**
 * The worker, shipped as source text (`toString()`): it must be self-contained. It loads
 * onnxruntime-node (the path the calling thread resolved, else the bare name through the
 * cwd and NODE_PATH, which is where a Lambda layer's packages are), creates one session and
 * answers runs in the order they arrive, moving the output buffers back. It gets `require`
 * and `node:worker_threads` as arguments: a free `require` would be renamed by a bundler. It
 * names no inner function: a minifier that keeps names would wrap one in a helper this source
 * text does not carry.
 */
function scoringWorker(wt: typeof import('node:worker_threads'), load: (id: string) => unknown): void {
  const port = wt.parentPort as import('node:worker_threads').MessagePort;
  const { bytes, entries, intraOpNumThreads } = wt.workerData as {
    bytes: Uint8Array;
    entries: string[];
    intraOpNumThreads: number;
  };
  let ort: typeof import('onnxruntime-node') | undefined;
  const reasons: string[] = [];
  for (const entry of entries) {
    try {
      ort = load(entry) as typeof import('onnxruntime-node');
      break;
    } catch (e) {
      reasons.push(`${entry}: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
    }
  }
  if (!ort) {
    port.postMessage({ kind: 'failed', stage: 'runtime', message: reasons.join('; ') });
    return;
  }
  const runtime = ort;
  // logSeverityLevel 4: as session.ts's SESSION_OPTIONS (inline: this body ships as source text).
  runtime.InferenceSession.create(bytes, {
    intraOpNumThreads,
    interOpNumThreads: 1,
    logSeverityLevel: 4,
  }).then(
    (session) => {
      port.on('message', async (m: { id: number; feeds: Record<string, WireTensor>; outputs: string[] }) => {
        try {
          const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
          for (const [name, t] of Object.entries(m.feeds))
            feeds[name] = new runtime.Tensor(t.type, t.data as never, t.dims);
          const result = await session.run(feeds, m.outputs);
          const outputs: Record<string, WireTensor> = {};
          const move: ArrayBuffer[] = [];
          for (const [name, t] of Object.entries(result)) {
            outputs[name] = { type: t.type, dims: t.dims, data: t.data };
            const buffer = ArrayBuffer.isView(t.data) ? t.data.buffer : undefined;
            if (buffer instanceof ArrayBuffer && !move.includes(buffer)) move.push(buffer);
          }
          port.postMessage({ kind: 'result', id: m.id, outputs }, move);
        } catch (e) {
          const err = e as Error;
          port.postMessage({
            kind: 'error',
            id: m.id,
            name: String(err?.name ?? 'Error'),
            message: String(err?.message ?? err),
          });
        }
      });
      const [inputs, outputs] = [session.inputMetadata, session.outputMetadata].map((list) =>
        list.map((m) =>
          m.isTensor
            ? { name: m.name, isTensor: true, type: m.type, shape: m.shape }
            : { name: m.name, isTensor: false },
        ),
      );
      port.postMessage({ kind: 'ready', inputs, outputs });
    },
    (e: unknown) => {
      port.postMessage({
        kind: 'failed',
        stage: 'model',
        message: String((e as Error)?.message ?? e).split('\n')[0],
      });
    },
  );
}

const WORKER_SOURCE = `
const wt = require('node:worker_threads');
// Bundlers that keep names wrap nested functions in __name(...).
globalThis.__name ??= (f) => f;
(0, eval)(${JSON.stringify(`(${scoringWorker.toString()})`)})(wt, require);`;

/**
 * Where this module's onnxruntime-node is, for workers: resolved from this file, so it is
 * the package the calling thread uses (under tsx and vitest, this checkout's node_modules;
 * in the Lambda bundle, the layer's through NODE_PATH), then the bare name as a worker would
 * resolve it.
 */
function runtimeEntries(): string[] {
  try {
    return [createRequire(import.meta.url).resolve('onnxruntime-node'), 'onnxruntime-node'];
  } catch {
    return ['onnxruntime-node'];
  }
}

/** A worker could not load onnxruntime-node: the caller may score on its own thread instead. */
export class ScoringWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScoringWorkerError';
  }
}

export interface WorkerScorerOptions {
  /** Worker threads, each with its own session. */
  readonly workers: number;
  /** onnxruntime's intra-op threads per worker's session. @default 1 */
  readonly intraOpNumThreads?: number;
  /**
   * What workers `require` onnxruntime-node by, tried in order.
   * @default this module's onnxruntime-node, then the bare name (cwd, NODE_PATH)
   */
  readonly runtime?: readonly string[];
}

interface Pending {
  readonly resolve: (outputs: Record<string, Tensor>) => void;
  readonly reject: (err: Error) => void;
}

/** One worker thread and the runs it has been sent and not yet answered. */
class ScoringWorker {
  readonly pending = new Map<number, Pending>();
  private stopped: Error | undefined;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind !== 'result' && m.kind !== 'error') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.kind === 'result') {
        const outputs: Record<string, Tensor> = {};
        for (const [name, t] of Object.entries(m.outputs))
          outputs[name] = new Tensor(t.type, t.data as never, t.dims);
        p.resolve(outputs);
      } else {
        // The same error as a session on this thread throws: onnxruntime's message, as is.
        const err = new Error(m.message);
        if (m.name !== 'Error') err.name = m.name;
        p.reject(err);
      }
    });
    worker.on('error', (err) => this.fail(new Error(`a scoring worker failed: ${err.message}`)));
    worker.on('exit', (code) => this.fail(new Error(`a scoring worker stopped (exit code ${code})`)));
  }

  /** Rejects every unanswered run, and any later one. */
  fail(err: Error): void {
    this.stopped ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  send(
    id: number,
    feeds: Record<string, Tensor>,
    outputs: readonly string[],
  ): Promise<Record<string, Tensor>> {
    if (this.stopped) return Promise.reject(this.stopped);
    const wire: Record<string, WireTensor> = {};
    const move: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      wire[name] = { type: t.type, dims: t.dims, data: t.data };
      const data = t.data;
      // A Node Buffer may be a slice of a shared pool: copied, never moved.
      if (ArrayBuffer.isView(data) && !Buffer.isBuffer(data) && data.buffer instanceof ArrayBuffer) {
        if (!move.includes(data.buffer)) move.push(data.buffer);
      }
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Held while it has work, so a caller awaiting a run keeps the process alive.
      this.worker.ref();
      try {
        this.worker.postMessage({ id, feeds: wire, outputs: [...outputs] }, move);
      } catch (err) {
        this.pending.delete(id);
        if (this.pending.size === 0) this.worker.unref();
        reject(err as Error);
      }
    });
  }
}

/** The first message a starting worker posts: ready, or why it could not start. */
function started(worker: Worker): Promise<Extract<WorkerMessage, { kind: 'ready' | 'failed' }>> {
  return new Promise((resolve) => {
    const onMessage = (m: WorkerMessage) => {
      if (m.kind !== 'ready' && m.kind !== 'failed') return;
      worker.off('message', onMessage);
      resolve(m);
    };
    worker.on('message', onMessage);
    worker.once('error', (err) => resolve({ kind: 'failed', stage: 'runtime', message: err.message }));
    worker.once('exit', (code) =>
      resolve({ kind: 'failed', stage: 'runtime', message: `the worker exited with code ${code}` }),
    );
  });
}

/**
 * A scorer whose model runs on worker threads, each with its own onnxruntime-node session,
 * so the calling thread stays free (to read the next batch and write the previous one) while
 * they score. Runs go to the worker with the fewest unanswered runs; each run is one model
 * call and answers with the same tensors a session on this thread gives. The feeds' typed
 * arrays are moved to the worker, not copied: a caller must not read them after `run`.
 * `release()` stops the workers (unanswered runs are rejected); an idle worker never keeps
 * the process alive. Workers start from source text, so no worker file must be found on
 * disk (tsx, vitest and the Lambda bundle alike).
 *
 * Throws the same InvalidParameterError as `createOnnxScorer` for bytes that do not load,
 * and ScoringWorkerError when a worker cannot load onnxruntime-node.
 *
 * @example
 * const scorer = await createWorkerScorer(bytes, { workers: 2 });
 * try {
 *   const [a, b] = await Promise.all([scorer.run(feedsA, ['probabilities']), scorer.run(feedsB, ['probabilities'])]);
 * } finally {
 *   await scorer.release();
 * }
 */
export async function createWorkerScorer(bytes: Uint8Array, options: WorkerScorerOptions): Promise<Scorer> {
  const count = Number.isFinite(options.workers) ? Math.max(1, Math.floor(options.workers)) : 1;
  const workerData = {
    bytes,
    entries: [...(options.runtime ?? runtimeEntries())],
    intraOpNumThreads: options.intraOpNumThreads ?? 1,
  };
  const workers = Array.from(
    { length: count },
    () => new Worker(WORKER_SOURCE, { eval: true, workerData, stdout: false, stderr: false }),
  );
  const scoring = workers.map((w) => new ScoringWorker(w));
  const release = async () => {
    for (const w of scoring) w.fail(new Error('the scorer was released'));
    await Promise.all(workers.map((w) => w.terminate()));
  };
  const answers = await Promise.all(workers.map(started));
  const failed = answers.find((a) => a.kind === 'failed');
  if (failed?.kind === 'failed') {
    await release();
    if (failed.stage === 'model')
      throw new InvalidParameterError(`onnxruntime-node cannot load this ONNX model: ${failed.message}`);
    throw new ScoringWorkerError(`a scoring worker could not load onnxruntime-node: ${failed.message}`);
  }
  for (const w of workers) w.unref();
  const ready = answers[0] as Extract<WorkerMessage, { kind: 'ready' }>;
  let next = 0;
  return {
    inputs: ready.inputs.map((m) => valueInfo(m as never)),
    outputs: ready.outputs.map((m) => valueInfo(m as never)),
    parallelism: count,
    run: (feeds, outputs) => {
      // Fewest unanswered runs first; ties in turn, so alternate batches go to alternate workers.
      let best = scoring[next % count] as ScoringWorker;
      for (let k = 1; k < count; k++) {
        const w = scoring[(next + k) % count] as ScoringWorker;
        if (w.pending.size < best.pending.size) best = w;
      }
      next += 1;
      return best.send(next, feeds, outputs);
    },
    release,
  };
}

/**
 * Scoring workers for batch scoring: one per core the process may use (on Lambda, the vCPUs
 * its memory buys), none with a single core, where a worker would only add a copy.
 */
export function batchScoringWorkers(env: NodeJS.ProcessEnv = process.env): number {
  const threads = defaultThreads(env);
  return threads < 2 ? 0 : threads;
}

export interface BatchScorerOptions extends Partial<WorkerScorerOptions> {
  /** Where the fallback's reason goes. @default a warning in the function's log */
  readonly log?: (message: string) => void;
}

/**
 * The scorer batch scoring loads a model into: worker threads when the process has more than
 * one core (see `createWorkerScorer`, `batchScoringWorkers`), else one session on this
 * thread. A worker that cannot load onnxruntime-node is not fatal: the reason is logged and
 * the model runs on this thread.
 *
 * @example
 * const model = await loadServedModel({ ...deps, createScorer: (b) => createBatchScorer(b) }, pin);
 */
export async function createBatchScorer(
  bytes: Uint8Array,
  options: BatchScorerOptions = {},
): Promise<Scorer> {
  const { log = (m: string) => logger.warn(m), workers = batchScoringWorkers(), ...rest } = options;
  if (workers < 1) return createOnnxScorer(bytes);
  try {
    return await createWorkerScorer(bytes, { ...rest, workers });
  } catch (err) {
    if (!(err instanceof ScoringWorkerError)) throw err;
    log(`batch scoring runs the model on the calling thread: ${err.message}`);
    return createOnnxScorer(bytes);
  }
}
