import { InvalidStateError } from '../platform/errors';
import { ArtifactClient } from '../tracking/client/artifact-client';
import { filterLiteral } from '../tracking/client/paging';
import { RegistryClient } from '../tracking/client/registry-client';
import type { MlflowCall } from '../tracking/client/rest';
import { isNotFound, TrackingClient } from '../tracking/client/tracking-client';
import type { RunRecorder, RunStatus } from '../training/recording/run-recorder';
import type { ModelVersionRef, PipelineTracking } from './tracking-port';

/**
 * The pipeline's tracking port over the tracking area's MLflow client: the pipeline is a
 * client of tracking and the registry like any MLflow user.
 */
export class MlflowPipelineTracking implements PipelineTracking {
  private readonly tracking: TrackingClient;
  private readonly registry: RegistryClient;
  private readonly artifacts: ArtifactClient;

  constructor(call: MlflowCall) {
    this.tracking = new TrackingClient(call);
    this.registry = new RegistryClient(call);
    this.artifacts = new ArtifactClient(call);
  }

  async startOrResumeRun(args: {
    experimentName: string;
    runName: string;
    tags: Record<string, string>;
    identity: readonly [string, string];
  }) {
    const experimentId = await this.tracking.getOrCreateExperiment(args.experimentName);
    const [existing] = await this.tracking.searchRuns({
      experimentIds: [experimentId],
      filter: `tags.\`${args.identity[0]}\` = ${filterLiteral(args.identity[1])}`,
      maxResults: 1,
    });
    if (existing) return { runId: existing.info.run_id, experimentId, resumed: true };
    const run = await this.tracking.createRun({ experimentId, runName: args.runName, tags: args.tags });
    return { runId: run.info.run_id, experimentId, resumed: false };
  }

  recorder(runId: string, experimentId: string): RunRecorder {
    return {
      runId,
      logParams: async (params) => {
        await this.tracking.logParams(runId, params);
      },
      logMetric: async (key, value, step) => {
        await this.tracking.logMetrics(runId, [{ key, value, timestamp: Date.now(), step: step ?? 0 }]);
      },
      setTags: async (tags) => {
        await this.tracking.setTags(runId, tags);
      },
      logArtifact: (path, body) => this.artifacts.upload(runId, path, body),
      startChildRun: async (name) => {
        const child = await this.tracking.createRun({
          experimentId,
          runName: name,
          tags: { 'mlflow.parentRunId': runId },
        });
        return this.recorder(child.info.run_id, experimentId);
      },
      end: async (status: RunStatus) => {
        await this.setRunStatus(runId, status === 'FINISHED' ? 'FINISHED' : 'FAILED');
      },
    };
  }

  async findFinishedChild(experimentId: string, parentRunId: string, key: string, value: string) {
    const [run] = await this.tracking.searchRuns({
      experimentIds: [experimentId],
      filter: `tags.mlflow.parentRunId = ${filterLiteral(parentRunId)} and tags.\`${key}\` = ${filterLiteral(value)} and attributes.status = 'FINISHED'`,
      maxResults: 1,
    });
    if (!run) return undefined;
    const metrics: Record<string, number> = {};
    // The wire carries NaN and infinities as strings.
    for (const m of run.data?.metrics ?? []) metrics[m.key] = Number(m.value);
    return { runId: run.info.run_id, metrics };
  }

  async setRunStatus(runId: string, status: 'FINISHED' | 'FAILED') {
    await this.tracking.endRun(runId, status);
  }

  readArtifact(runId: string, path: string): Promise<Uint8Array> {
    return this.artifacts.download(runId, path);
  }

  async latestVersion(
    modelName: string,
    stage: 'Production' | 'Staging',
  ): Promise<ModelVersionRef | undefined> {
    try {
      const [v] = await this.registry.latestVersions(modelName, [stage]);
      return v ? { version: v.version, source: v.source, runId: v.run_id, status: v.status } : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async readModelFile(version: ModelVersionRef, file: string): Promise<Uint8Array> {
    const m = /^runs:\/([^/]+)\/(.+)$/.exec(version.source);
    if (!m) throw new Error(`model version ${version.version}: source ${version.source} is not a runs:/ URI`);
    return this.readArtifact(m[1] as string, `${(m[2] as string).replace(/\/+$/, '')}/${file}`);
  }

  async registerVersion(args: {
    modelName: string;
    source: string;
    runId: string;
    tags: Record<string, string>;
    identity: readonly [string, string];
  }): Promise<ModelVersionRef> {
    await this.registry.ensureModel(args.modelName);
    // A retried step finds the version it registered for this run instead of a second one.
    const existing = (
      await this.registry.searchVersions({
        filter: `name = ${filterLiteral(args.modelName)} and run_id = ${filterLiteral(args.runId)}`,
      })
    ).find((mv) => mv.source === args.source);
    let v =
      existing ??
      (await this.registry.createVersion({
        name: args.modelName,
        source: args.source,
        runId: args.runId,
        tags: args.tags,
      }));
    // 75 s: longer than the registry's 60 s takeover of a check a crash interrupted, so a
    // rerun after a crash during registration waits for the takeover instead of failing.
    for (let i = 0; v.status === 'PENDING_REGISTRATION' && i < 300; i++) {
      await new Promise((r) => setTimeout(r, 250));
      v = await this.registry.getVersion(args.modelName, v.version);
    }
    if (v.status !== 'READY') {
      throw new InvalidStateError(`Model version ${v.version} is ${v.status}: ${v.status_message ?? ''}`);
    }
    return { version: v.version, source: v.source, runId: v.run_id, status: v.status };
  }

  async transitionStage(modelName: string, version: string, stage: 'Staging' | 'Production') {
    await this.registry.transitionStage(modelName, version, stage);
  }
}
