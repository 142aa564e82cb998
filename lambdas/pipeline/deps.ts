import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AthenaSettings } from '../features/athena-backend';
import { NotFoundError } from '../platform/errors';
import type { ObjectStore } from '../platform/object-store';
import type { PipelineTracking } from './tracking-port';

/** What the pipeline's steps need; handlers build it from the environment, tests directly. */
export interface PipelineDeps {
  readonly store: ObjectStore;
  /** The features bucket: registry, offline store, entity rows, training sets. */
  readonly bucket: string;
  readonly tracking: PipelineTracking;
  /** Git commit of the code that runs (recorded as `mlflow.source.git.commit`). */
  readonly gitCommit?: string;
  readonly progress?: (message: string) => void;
  /** Set on AWS: training sets are built by Athena in this workgroup and Glue database. */
  readonly athena?: AthenaSettings;
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
