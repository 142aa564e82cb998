import type { z } from 'zod';
import type {
  experimentSchema,
  metricSchema,
  modelVersionSchema,
  registeredModelSchema,
  runInfoSchema,
  runSchema,
} from '../api/schemas';

/**
 * The wire shapes the client reads, inferred from the API's own zod schemas so the
 * client and the server cannot drift.
 */
export type Experiment = z.infer<typeof experimentSchema>;
export type Run = z.infer<typeof runSchema>;
export type RunInfo = z.infer<typeof runInfoSchema>;
export type Metric = z.infer<typeof metricSchema>;
export type ModelVersion = z.infer<typeof modelVersionSchema>;
export type RegisteredModel = z.infer<typeof registeredModelSchema>;
export type RunStatus = RunInfo['status'];
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
export type Stage = 'None' | 'Staging' | 'Production' | 'Archived';

/** One key/value pair as MLflow sends params and tags. */
export interface KeyValue {
  key: string;
  value: string;
}

/** A metric point to log; `timestamp` defaults to now and `step` to 0. */
export interface MetricPoint {
  key: string;
  value: number;
  timestamp?: number;
  step?: number;
}

/** An artifact entry as `artifacts/list` answers it. */
export interface ArtifactFile {
  path: string;
  is_dir: boolean;
  file_size?: number;
}
