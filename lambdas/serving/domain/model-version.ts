import { NotFoundError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import type { ModelVersion } from '../../tracking/domain/model';
import { sourceKey } from '../../tracking/domain/model-source';
import type { RegistryStore } from '../../tracking/store/registry-store';
import { type ModelFiles, readModelFiles } from './model-files';

/*
 * Which registered version a pin names and where its files are: what serving, export,
 * SageMaker packaging and the performance job share. Kept apart from served-model.ts so
 * that reading a version's files does not load onnxruntime (a function bundled without
 * the native layer cannot import it).
 */

/** Which version a predict function serves: a fixed version, an alias, or a stage's version. */
export type ModelPin =
  | { readonly name: string; readonly version: string }
  | { readonly name: string; readonly alias: string }
  | { readonly name: string; readonly stage: 'Production' };

/** What finding a version and its files needs: the registry's and runs' stores (read only), the bucket. */
export interface VersionReaderDeps {
  readonly registry: Pick<RegistryStore, 'getModel' | 'getVersion'>;
  readonly runs: {
    getRun(
      runId: string,
    ): Promise<{ info: { artifact_uri: string }; tags: Readonly<Record<string, string>> } | undefined>;
  };
  readonly store: ObjectStore;
  readonly bucket: string;
}

/** The registered version a pin names now; 404 when the model, version, alias or stage has none. */
export async function resolvePin(
  registry: VersionReaderDeps['registry'],
  pin: ModelPin,
): Promise<ModelVersion> {
  const stored = await registry.getModel(pin.name);
  if (!stored) throw new NotFoundError(`Registered model '${pin.name}' not found`);
  let version: string | undefined;
  if ('version' in pin) version = pin.version;
  else if ('alias' in pin) {
    version = stored.model.aliases[pin.alias];
    if (!version) throw new NotFoundError(`Model '${pin.name}' has no alias '${pin.alias}'`);
  } else {
    version = stored.production;
    if (!version) throw new NotFoundError(`Model '${pin.name}' has no version in ${pin.stage}`);
  }
  const mv = await registry.getVersion(pin.name, version);
  if (!mv) throw new NotFoundError(`Model '${pin.name}' has no version ${version}`);
  return mv;
}

/**
 * Reads a version's ONNX file and signature from its source (`runs:/`, `models:/`,
 * `mlflow-artifacts:/` or `s3://`), with the run that logged it when there is one.
 */
export async function versionFiles(
  deps: VersionReaderDeps,
  mv: ModelVersion,
): Promise<{
  files: ModelFiles;
  run?: { info: { artifact_uri: string }; tags: Readonly<Record<string, string>> };
}> {
  const run = mv.run_id ? await deps.runs.getRun(mv.run_id) : undefined;
  const key = await sourceKey(mv.source, deps.bucket, {
    runArtifactUri: async (runId) => {
      const r = runId === mv.run_id ? run : await deps.runs.getRun(runId);
      if (!r) throw new NotFoundError(`Run '${runId}' of the model source not found`);
      return r.info.artifact_uri;
    },
    versionSource: async (name, ref) => (await resolvePin(deps.registry, refPin(name, ref))).source,
  });
  return { files: await readModelFiles(deps.store, deps.bucket, key), ...(run ? { run } : {}) };
}

/** A `models:/name/<version|alias>` reference as a pin. */
export function refPin(name: string, ref: string): ModelPin {
  return /^\d+$/.test(ref) ? { name, version: ref } : { name, alias: ref };
}
