import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { InvalidParameterError } from '../../platform/errors';
import { type OnnxValueInfo, valueInfo } from './inspect';

/**
 * One loaded model that scores feeds: what serving holds for its lifetime. An interface so
 * tests can wrap the real session (to count model calls) without mocking any scoring.
 */
export interface Scorer {
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /**
   * Runs it scores at once (worker threads): a caller with many batches keeps at least this
   * many in flight. @default 1, a session on the calling thread, which blocks it while it runs
   */
  readonly parallelism?: number;
  /** Runs the model once on the feeds and fetches the named outputs. */
  run(feeds: Record<string, Tensor>, outputs: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/**
 * onnxruntime logs only fatal errors itself: a failed run is thrown to the caller, which maps
 * it to a 5xx and logs it in the function's structured log; onnxruntime's own copy was an
 * unstructured red line on stderr for every failing request.
 */
export const SESSION_OPTIONS: InferenceSession.SessionOptions = { logSeverityLevel: 4 };

/** Creates a scorer from model bytes; the default is one onnxruntime-node session. */
export type ScorerFactory = (bytes: Uint8Array) => Promise<Scorer>;

/**
 * Creates one onnxruntime-node session for model bytes. Bytes that do not load become an
 * InvalidParameterError naming the runtime's reason.
 *
 * @example
 * const scorer = await createOnnxScorer(bytes);
 * const out = await scorer.run(feeds, ['probabilities']);
 */
export async function createOnnxScorer(bytes: Uint8Array): Promise<Scorer> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (err) {
    throw new InvalidParameterError(
      `onnxruntime-node cannot load this ONNX model: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  return {
    inputs: session.inputMetadata.map((m) => valueInfo(m)),
    outputs: session.outputMetadata.map((m) => valueInfo(m)),
    run: (feeds, outputs) => session.run(feeds, [...outputs]),
    release: () => session.release(),
  };
}
