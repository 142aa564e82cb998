import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { versionFiles } from '../../serving/domain/model-version';
import type { RunRecord } from '../../tracking/domain/model';
import type { RegistryStore } from '../../tracking/store/registry-store';
import type { Task, VersionInfo } from './performance';

export interface VersionInfoDeps {
  readonly registry: Pick<RegistryStore, 'getModel' | 'getVersion'>;
  readonly runs: { getRun(runId: string): Promise<RunRecord | undefined> };
  readonly store: ObjectStore;
  readonly bucket: string;
}

/**
 * A version's task from its signature (a `probability` output: binary classification; else
 * regression) and its test metric from the run that trained it (`test_auc`, `test_rmse`, as
 * the pipeline logs them). A version that is gone from the registry or whose files cannot be
 * read is skipped, with the reason, rather than failing the whole job.
 */
export async function registryVersionInfo(
  d: VersionInfoDeps,
  model: string,
  version: string,
): Promise<VersionInfo | { skip: string }> {
  const mv = await d.registry.getVersion(model, version);
  if (!mv) return { skip: `model '${model}' has no version ${version} in the registry (deleted?)` };
  let files: Awaited<ReturnType<typeof versionFiles>>['files'];
  try {
    ({ files } = await versionFiles(d, mv));
  } catch (err) {
    // A missing or invalid signature or source: this version cannot be scored, the others can.
    if (err instanceof InvalidParameterError || err instanceof NotFoundError) {
      return { skip: `version ${version}: ${err.message}` };
    }
    throw err;
  }
  const task: Task = files.signature.outputs.some((o) => o.meaning === 'probability')
    ? 'binary'
    : 'regression';
  const metric = task === 'binary' ? 'auc' : 'rmse';
  const run = mv.run_id ? await d.runs.getRun(mv.run_id) : undefined;
  const value = run?.metrics[`test_${metric}`]?.value;
  return {
    task,
    ...(typeof value === 'number' && Number.isFinite(value) ? { training: { metric, value } } : {}),
  };
}
