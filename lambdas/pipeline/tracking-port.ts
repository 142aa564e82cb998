import type { RunRecorder } from '../training/recording/run-recorder';

/** A registered model version, as the pipeline needs it. */
export interface ModelVersionRef {
  readonly version: string;
  readonly source: string;
  readonly runId?: string;
  readonly status: string;
}

/**
 * What the pipeline needs of tracking and the registry. The adapter speaks the MLflow REST
 * API of the tracking area, so the pipeline is a client like any other.
 */
export interface PipelineTracking {
  /** The run tagged `tag=value` in the experiment, or a new one with these tags (idempotent on retries). */
  startOrResumeRun(args: {
    experimentName: string;
    runName: string;
    tags: Record<string, string>;
    identity: readonly [string, string];
  }): Promise<{ runId: string; experimentId: string; resumed: boolean }>;
  /** Writes to a run through training's port; `end` is left to the caller. */
  recorder(runId: string, experimentId: string): RunRecorder;
  /** A child of the run with tag `key=value`, if one finished already (for idempotent retries). */
  findFinishedChild(
    experimentId: string,
    parentRunId: string,
    key: string,
    value: string,
  ): Promise<{ runId: string; metrics: Record<string, number> } | undefined>;
  setRunStatus(runId: string, status: 'FINISHED' | 'FAILED'): Promise<void>;
  readArtifact(runId: string, path: string): Promise<Uint8Array>;
  /** The version in the stage, if any. */
  latestVersion(modelName: string, stage: 'Production' | 'Staging'): Promise<ModelVersionRef | undefined>;
  /** Reads a file under a model version's source (`runs:/<id>/model` + `/model.onnx`). */
  readModelFile(version: ModelVersionRef, file: string): Promise<Uint8Array>;
  /** Registers (once per identity tag) and waits for READY; throws with the registry's message on failure. */
  registerVersion(args: {
    modelName: string;
    source: string;
    runId: string;
    tags: Record<string, string>;
    identity: readonly [string, string];
  }): Promise<ModelVersionRef>;
  transitionStage(modelName: string, version: string, stage: 'Staging' | 'Production'): Promise<void>;
}
