import { createHash } from 'node:crypto';
import { MlopsError, NotFoundError } from '../../platform/errors';
import { checkSignature } from '../inference/inspect';
import type { Scorer, ScorerFactory } from '../inference/session';
import type { ModelSignature } from '../inference/signature';
import { type ModelPin, resolvePin, type VersionReaderDeps, versionFiles } from './model-version';
import { type PredictionRange, readPredictionRange } from './prediction-shift';

export { type ModelPin, refPin, resolvePin, type VersionReaderDeps, versionFiles } from './model-version';

/** A model version loaded into one session, ready to score. */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  /** The deployment variant this function is (the Lambda alias or version it runs as). */
  readonly variant: string;
  readonly signature: ModelSignature;
  readonly scorer: Scorer;
  /** The feature service whose online features feed the model (the run's `mlops.feature_service`). */
  readonly featureService?: string;
  /** sha256 of the ONNX bytes, hex. */
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Time to resolve, download and create the session, ms. */
  readonly loadMs: number;
  /** The central 98% of its predictions on the test set (its run's baseline profile), if logged. */
  readonly predictionRange?: PredictionRange;
}

/** What loading needs: the registry's and runs' stores (read only), the artifacts bucket. */
export interface ModelLoaderDeps extends VersionReaderDeps {
  readonly createScorer: ScorerFactory;
  /** Feature service when the run does not name one. */
  readonly defaultFeatureService?: string;
  readonly variant: string;
}

/**
 * Loads the pinned version: resolves it in the registry, reads its ONNX file and signature
 * from the artifacts bucket, creates one session and checks the signature against it. A
 * version that is not READY, or whose files do not load, throws: it never serves.
 *
 * @example
 * const model = await loadServedModel(deps, { name: 'churn', stage: 'Production' });
 */
export async function loadServedModel(deps: ModelLoaderDeps, pin: ModelPin): Promise<ServedModel> {
  const started = performance.now();
  const mv = await resolvePin(deps.registry, pin).catch((err: unknown) => {
    throw err instanceof NotFoundError ? new NoServableVersionError(err.message) : err;
  });
  if (mv.status !== 'READY') {
    throw new MlopsError(
      'MODEL_NOT_READY',
      `Version ${mv.version} of '${mv.name}' is ${mv.status}${mv.status_message ? `: ${mv.status_message}` : ''}`,
    );
  }
  const { files, run } = await versionFiles(deps, mv);
  const scorer = await deps.createScorer(files.bytes);
  try {
    checkSignature(files.signature, { inputs: scorer.inputs, outputs: scorer.outputs, opsets: {} });
  } catch (err) {
    await scorer.release();
    throw err;
  }
  const featureService = run?.tags['mlops.feature_service'] ?? deps.defaultFeatureService;
  const range = run ? await readPredictionRange(deps.store, deps.bucket, run.info.artifact_uri) : undefined;
  return {
    name: mv.name,
    version: mv.version,
    variant: deps.variant,
    signature: files.signature,
    scorer,
    ...(featureService ? { featureService } : {}),
    sha256: createHash('sha256').update(files.bytes).digest('hex'),
    sizeBytes: files.bytes.byteLength,
    loadMs: performance.now() - started,
    ...(range ? { predictionRange: range } : {}),
  };
}

/** The model a function serves, or why it does not (yet). */
export type ModelState =
  | { readonly ready: true; readonly model: ServedModel }
  | {
      readonly ready: false;
      readonly reason: string;
      /** True when the pin names no version (no such model, alias, version or Production version). */
      readonly missing: boolean;
    };

/** The pin names no registered version: nothing to serve (404), as opposed to a version that failed to load. */
export class NoServableVersionError extends NotFoundError {}

/** The model could not be loaded: predict answers 503 and readiness is false. */
export class ModelNotReadyError extends MlopsError {
  constructor(message: string) {
    super('MODEL_NOT_READY', message);
  }
}

/**
 * Holds the one model a function serves. Loading starts at cold start (`start()`); a
 * request waits for it. A failed load is remembered with its reason and retried at most
 * once per `retryMs` (a version registered after the function started, a registry blip),
 * one attempt at a time, so a version that cannot load answers not-ready without hammering
 * the stores.
 *
 * @example
 * const host = new ModelHost(() => loadServedModel(deps, pin));
 * host.start();
 * const model = await host.model(); // or NoServableVersionError, ModelNotReadyError
 */
export class ModelHost {
  private loading: Promise<ModelState> | undefined;
  private state: ModelState | undefined;
  private failedAt = 0;

  constructor(
    private readonly load: () => Promise<ServedModel>,
    private readonly retryMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Begins loading now (cold start) without waiting. */
  start(): void {
    void this.status();
  }

  /** The current state, loading (or retrying a failed load) first when due. */
  async status(): Promise<ModelState> {
    if (this.state?.ready) return this.state;
    if (!this.loading && (!this.state || this.now() - this.failedAt >= this.retryMs)) {
      this.loading = this.load().then(
        (model): ModelState => ({ ready: true, model }),
        (err): ModelState => {
          this.failedAt = this.now();
          const e = err as Error;
          return {
            ready: false,
            reason: e instanceof MlopsError ? e.message : `load failed: ${e.message}`,
            missing: e instanceof NoServableVersionError,
          };
        },
      );
      this.state = await this.loading;
      this.loading = undefined;
      return this.state;
    }
    return this.loading ? await this.loading : (this.state as ModelState);
  }

  /**
   * The served model; NoServableVersionError (404) when the pin names no version,
   * ModelNotReadyError (503) with the reason when its version did not load.
   */
  async model(): Promise<ServedModel> {
    const s = await this.status();
    if (s.ready) return s.model;
    if (s.missing) throw new NoServableVersionError(`Nothing to serve: ${s.reason}`);
    throw new ModelNotReadyError(`The model is not ready: ${s.reason}`);
  }
}
