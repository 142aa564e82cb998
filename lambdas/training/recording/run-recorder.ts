/**
 * The tracking port training writes to. The CLI uses the filesystem recorder; the MLflow
 * tracking API adapter implements the same interface, so training never imports either.
 */
export type RunStatus = 'FINISHED' | 'FAILED' | 'KILLED';

export interface RunRecorder {
  readonly runId: string;
  logParams(params: Readonly<Record<string, string | number | boolean>>): Promise<void>;
  logMetric(key: string, value: number, step?: number): Promise<void>;
  setTags(tags: Readonly<Record<string, string>>): Promise<void>;
  /** Stores bytes under a run-relative path such as `model/model.onnx`. */
  logArtifact(path: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  /** A nested run (a search trial), tagged with its parent. */
  startChildRun(name: string): Promise<RunRecorder>;
  end(status: RunStatus): Promise<void>;
}
