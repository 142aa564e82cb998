import { NotFoundError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { sourceKey } from '../../tracking/domain/model-source';
import type { RegistryStore } from '../../tracking/store/registry-store';
import { readModelFiles } from '../domain/model-files';
import { tritonRepositoryPrefix } from './layout';
import { graphIo, tritonRepository } from './triton';

/** What packaging reads: the registry and runs (to find the version's files) and the artifacts bucket. */
export interface PackageDeps {
  readonly registry: Pick<RegistryStore, 'getModel' | 'getVersion'>;
  readonly runs: { getRun(runId: string): Promise<{ info: { artifact_uri: string } } | undefined> };
  readonly store: ObjectStore;
  readonly bucket: string;
}

/**
 * Writes the Triton model repository of a registered version to the artifacts bucket
 * (`serving/triton/<model>/<version>/`: `<model>/config.pbtxt`, `<model>/<version>/model.onnx`)
 * and answers its `s3://` prefix, which a SageMaker Model's `ModelDataSource` names
 * (uncompressed, `S3Prefix`). The ONNX file is the registered one, byte for byte; the config
 * is read from its graph without onnxruntime (the deployment functions carry no native
 * library). A model Triton cannot load fails the container's health check, which SageMaker
 * reports on the endpoint and the readiness gate turns into a refusal.
 *
 * @example
 * const uri = await packageForTriton(deps, 'churn', '4'); // s3://artifacts/serving/triton/churn/4/
 */
export async function packageForTriton(deps: PackageDeps, model: string, version: string): Promise<string> {
  const mv = await deps.registry.getVersion(model, version);
  if (!mv) throw new NotFoundError(`Model '${model}' has no version ${version}`);
  // The version's files, found as serving finds them (served-model.ts's versionFiles).
  const key = await sourceKey(mv.source, deps.bucket, {
    runArtifactUri: async (runId) => {
      const run = await deps.runs.getRun(runId);
      if (!run) throw new NotFoundError(`Run '${runId}' of the model source not found`);
      return run.info.artifact_uri;
    },
    versionSource: async (name, ref) => {
      const number = /^\d+$/.test(ref) ? ref : (await deps.registry.getModel(name))?.model.aliases[ref];
      const v = number ? await deps.registry.getVersion(name, number) : undefined;
      if (!v) throw new NotFoundError(`Model '${name}' has no version ${ref}`);
      return v.source;
    },
  });
  const files = await readModelFiles(deps.store, deps.bucket, key);
  const prefix = tritonRepositoryPrefix(model, version);
  for (const f of tritonRepository(model, version, files.bytes, graphIo(files.bytes))) {
    await deps.store.put(deps.bucket, `${prefix}${f.path}`, f.body, {
      contentType: f.path.endsWith('.onnx') ? 'application/octet-stream' : 'text/plain',
    });
  }
  return `s3://${deps.bucket}/${prefix}`;
}
