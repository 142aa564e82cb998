import { InvalidParameterError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { sourceKey } from '../../tracking/domain/model-source';
import type { RegistryStore } from '../../tracking/store/registry-store';
import type { BaselineProfile } from '../profile/baseline-profile';
import type { ProfileSource } from './drift-job';

/** Where training logs each candidate's profile, relative to its run's artifacts. */
export const PROFILE_ARTIFACT = 'profile/baseline_profile.json';

export interface RegistryProfileDeps {
  readonly registry: Pick<RegistryStore, 'getVersion'>;
  readonly runs: { getRun(runId: string): Promise<{ info: { artifact_uri: string } } | undefined> };
  readonly store: ObjectStore;
  /** The artifacts bucket. */
  readonly bucket: string;
}

/**
 * Reads a model version's baseline profile where training stored it: the artifact
 * `profile/baseline_profile.json` of the run that registered the version.
 *
 * @example
 * const profile = await registryProfiles(deps).get('churn', '3');
 */
export function registryProfiles(deps: RegistryProfileDeps): ProfileSource {
  return {
    async get(model, version) {
      const mv = await deps.registry.getVersion(model, version);
      if (!mv?.run_id) return undefined;
      const key = await sourceKey(`runs:/${mv.run_id}/${PROFILE_ARTIFACT}`, deps.bucket, {
        runArtifactUri: async (runId) => {
          const run = await deps.runs.getRun(runId);
          if (!run)
            throw new InvalidParameterError(`Run '${runId}' of version ${version} of '${model}' not found`);
          return run.info.artifact_uri;
        },
        versionSource: async () => {
          throw new InvalidParameterError('a profile is read from its run, not another version');
        },
      });
      const bytes = await deps.store.get(deps.bucket, key);
      if (!bytes) return undefined;
      try {
        return JSON.parse(Buffer.from(bytes).toString('utf8')) as BaselineProfile;
      } catch (err) {
        throw new InvalidParameterError(
          `The baseline profile at '${key}' is not JSON: ${(err as Error).message}`,
        );
      }
    },
  };
}
