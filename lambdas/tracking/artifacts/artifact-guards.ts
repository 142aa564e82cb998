import { InvalidParameterError, InvalidStateError, NotFoundError } from '../../platform/errors';
import type { ModelVersion, RegisteredModel, RunRecord } from '../domain/model';
import { sourceKey } from '../domain/model-source';
import type { ProxiedPath } from './artifact-paths';

/** What the guards read: runs, and the registry's versions. */
export interface GuardLookups {
  getRun(runId: string): Promise<RunRecord>;
  listModels(): Promise<RegisteredModel[]>;
  listVersions(name: string): Promise<ModelVersion[]>;
  getVersion(name: string, version: string): Promise<ModelVersion>;
  getByAlias(name: string, alias: string): Promise<ModelVersion>;
}

/**
 * Rules a write to a run's artifacts must pass, whichever way it arrives (proxied PUT,
 * multipart, presigned PUT, delete): the run exists, is active and owns the path; and no
 * READY model version is served from the file.
 *
 * @example
 * const guards = new ArtifactGuards(lookups, bucket);
 * await guards.checkWrite(parseProxiedPath(path), { exists: true });
 */
export class ArtifactGuards {
  constructor(
    private readonly lookups: GuardLookups,
    private readonly bucket: string,
  ) {}

  /** RESOURCE_DOES_NOT_EXIST for an unknown run (or one of another experiment); 400 for a deleted one. */
  async checkRun(p: ProxiedPath): Promise<void> {
    const run = await this.lookups.getRun(p.runId).catch((err) => {
      if (err instanceof NotFoundError || err instanceof InvalidParameterError) {
        throw new NotFoundError(`Run with id=${p.runId} not found; artifacts are written to an existing run`);
      }
      throw err;
    });
    if (run.info.experiment_id !== p.experimentId) {
      throw new NotFoundError(`Run ${p.runId} is not in experiment ${p.experimentId}`);
    }
    if (run.info.lifecycle_stage !== 'active') {
      throw new InvalidParameterError(
        `The run ${p.runId} must be in the 'active' state. Current state is ${run.info.lifecycle_stage}.`,
      );
    }
  }

  /**
   * Refuses to replace or delete files a READY model version is made of (its source file,
   * or anything under its source directory). Only existing files are looked up: the
   * registry is scanned, which new files (the common case) never pay for.
   */
  async checkNotRegistered(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const lookups = {
      runArtifactUri: async (runId: string) => (await this.lookups.getRun(runId)).info.artifact_uri,
      versionSource: async (name: string, ref: string) =>
        (/^\d+$/.test(ref)
          ? await this.lookups.getVersion(name, ref)
          : await this.lookups.getByAlias(name, ref)
        ).source,
    };
    for (const model of await this.lookups.listModels()) {
      for (const v of await this.lookups.listVersions(model.name)) {
        if (v.status !== 'READY') continue;
        const source = await sourceKey(v.source, this.bucket, lookups).catch(() => undefined);
        if (!source) continue;
        const hit = keys.find((k) => k === source || k.startsWith(`${source}/`));
        if (hit) {
          throw new InvalidStateError(
            `'${hit.split('/').slice(4).join('/')}' belongs to version ${v.version} of registered model '${v.name}', which is READY: its files cannot change. Log the new files under another path and register a new version.`,
          );
        }
      }
    }
  }
}
