import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainingSetBuilder } from '../features/offline/training-set';
import { NotFoundError } from '../platform/errors';
import type { ObjectStore } from '../platform/object-store';
import type { PipelineTracking } from './tracking-port';

/** What the pipeline's steps need; its composition root (handlers.ts) builds it from the configuration, tests directly. */
export interface PipelineDeps {
  readonly store: ObjectStore;
  /** The features bucket: registry, offline store, entity rows, training sets. */
  readonly bucket: string;
  readonly tracking: PipelineTracking;
  /** Git commit of the code that runs (recorded as `mlflow.source.git.commit`). */
  readonly gitCommit?: string;
  readonly progress?: (message: string) => void;
  /** Builds training sets: `buildTrainingSet` (DuckDB) locally, `athenaTrainingSets` on AWS. */
  readonly trainingSets: TrainingSetBuilder;
}

/**
 * A local file path for an object: the file itself on the filesystem store, a copy in
 * scratch space when the store is S3 (DuckDB and the training reader read local files).
 */
export async function localFile(deps: PipelineDeps, key: string): Promise<string> {
  const uri = deps.store.uri(deps.bucket, key);
  if (!uri.startsWith('s3://')) {
    if (!(await deps.store.head(deps.bucket, key))) {
      throw new NotFoundError(`No object '${key}' in the features bucket`);
    }
    return uri;
  }
  const bytes = await deps.store.get(deps.bucket, key);
  if (!bytes) throw new NotFoundError(`No object '${key}' in the features bucket`);
  const dir = await mkdtemp(join(tmpdir(), 'mlops-'));
  const path = join(dir, key.split('/').pop() ?? 'object');
  await writeFile(path, bytes);
  return path;
}

/** A fresh scratch directory. */
export function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mlops-pipeline-'));
}
