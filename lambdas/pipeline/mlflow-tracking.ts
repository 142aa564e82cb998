import { MlopsError } from '../platform/errors';
import { MlflowApiError, type MlflowCall } from '../tracking/client/rest';
import type { RunRecorder, RunStatus } from '../training/tracking/run-recorder';
import type { ModelVersionRef, PipelineTracking } from './tracking-port';

const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([key, value]) => ({ key, value }));
const quote = (s: string) => `'${s.replaceAll("'", "\\'")}'`;

/**
 * The pipeline's tracking port over the MLflow REST API of the tracking area: the
 * pipeline is a client of tracking and the registry like any MLflow user.
 */
export class MlflowPipelineTracking implements PipelineTracking {
  private readonly artifactRoots = new Map<string, string>();

  constructor(private readonly call: MlflowCall) {}

  private async experimentId(name: string): Promise<string> {
    try {
      const r = await this.call('GET', 'experiments/get-by-name', { experiment_name: name });
      return r.experiment.experiment_id;
    } catch (err) {
      if (!(err instanceof MlflowApiError) || err.wireCode !== 'RESOURCE_DOES_NOT_EXIST') throw err;
    }
    try {
      return (await this.call('POST', 'experiments/create', { name })).experiment_id;
    } catch (err) {
      // A concurrent creator won: read theirs.
      if (err instanceof MlflowApiError && err.wireCode === 'RESOURCE_ALREADY_EXISTS') {
        return (await this.call('GET', 'experiments/get-by-name', { experiment_name: name })).experiment
          .experiment_id;
      }
      throw err;
    }
  }

  async startOrResumeRun(args: {
    experimentName: string;
    runName: string;
    tags: Record<string, string>;
    identity: readonly [string, string];
  }) {
    const experimentId = await this.experimentId(args.experimentName);
    const found = await this.call('POST', 'runs/search', {
      experiment_ids: [experimentId],
      filter: `tags.\`${args.identity[0]}\` = ${quote(args.identity[1])}`,
      max_results: 1,
    });
    const existing = found.runs?.[0];
    if (existing) return { runId: existing.info.run_id as string, experimentId, resumed: true };
    const r = await this.call('POST', 'runs/create', {
      experiment_id: experimentId,
      run_name: args.runName,
      start_time: Date.now(),
      tags: tagList({ ...args.tags, 'mlflow.runName': args.runName }),
    });
    this.artifactRoots.set(r.run.info.run_id, r.run.info.artifact_uri);
    return { runId: r.run.info.run_id as string, experimentId, resumed: false };
  }

  private async artifactPath(runId: string, path: string): Promise<string> {
    let root = this.artifactRoots.get(runId);
    if (!root) {
      root = (await this.call('GET', 'runs/get', { run_id: runId })).run.info.artifact_uri as string;
      this.artifactRoots.set(runId, root);
    }
    const prefix = 'mlflow-artifacts:';
    if (!root.startsWith(prefix))
      throw new Error(`run ${runId} stores artifacts at ${root}, not through the proxy`);
    const rel = root.slice(prefix.length).replace(/^\/+/, '');
    const encoded = `${rel}/${path}`.split('/').map(encodeURIComponent).join('/');
    return `/api/2.0/mlflow-artifacts/artifacts/${encoded}`;
  }

  recorder(runId: string, experimentId: string): RunRecorder {
    const self = this;
    return {
      runId,
      async logParams(params) {
        const list = Object.entries(params).map(([key, value]) => ({ key, value: String(value) }));
        for (let i = 0; i < list.length; i += 100) {
          await self.call('POST', 'runs/log-batch', { run_id: runId, params: list.slice(i, i + 100) });
        }
      },
      async logMetric(key, value, step) {
        await self.call('POST', 'runs/log-metric', {
          run_id: runId,
          key,
          value,
          timestamp: Date.now(),
          step: step ?? 0,
        });
      },
      async setTags(tags) {
        const list = tagList(tags);
        for (let i = 0; i < list.length; i += 100) {
          await self.call('POST', 'runs/log-batch', { run_id: runId, tags: list.slice(i, i + 100) });
        }
      },
      async logArtifact(path, body) {
        const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
        await self.call('PUT', await self.artifactPath(runId, path), bytes);
      },
      async startChildRun(name) {
        const r = await self.call('POST', 'runs/create', {
          experiment_id: experimentId,
          run_name: name,
          start_time: Date.now(),
          tags: tagList({ 'mlflow.parentRunId': runId, 'mlflow.runName': name }),
        });
        self.artifactRoots.set(r.run.info.run_id, r.run.info.artifact_uri);
        return self.recorder(r.run.info.run_id, experimentId);
      },
      async end(status: RunStatus) {
        await self.setRunStatus(runId, status === 'FINISHED' ? 'FINISHED' : 'FAILED');
      },
    };
  }

  async findFinishedChild(experimentId: string, parentRunId: string, key: string, value: string) {
    const r = await this.call('POST', 'runs/search', {
      experiment_ids: [experimentId],
      filter: `tags.mlflow.parentRunId = ${quote(parentRunId)} and tags.\`${key}\` = ${quote(value)} and attributes.status = 'FINISHED'`,
      max_results: 1,
    });
    const run = r.runs?.[0];
    if (!run) return undefined;
    const metrics: Record<string, number> = {};
    for (const m of run.data?.metrics ?? []) metrics[m.key] = m.value;
    return { runId: run.info.run_id as string, metrics };
  }

  async setRunStatus(runId: string, status: 'FINISHED' | 'FAILED') {
    await this.call('POST', 'runs/update', { run_id: runId, status, end_time: Date.now() });
  }

  async readArtifact(runId: string, path: string): Promise<Uint8Array> {
    return this.call('GET', await this.artifactPath(runId, path));
  }

  async latestVersion(
    modelName: string,
    stage: 'Production' | 'Staging',
  ): Promise<ModelVersionRef | undefined> {
    try {
      const r = await this.call('POST', 'registered-models/get-latest-versions', {
        name: modelName,
        stages: [stage],
      });
      const v = r.model_versions?.[0];
      return v ? { version: v.version, source: v.source, runId: v.run_id, status: v.status } : undefined;
    } catch (err) {
      if (err instanceof MlflowApiError && err.wireCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
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
    try {
      await this.call('POST', 'registered-models/create', { name: args.modelName });
    } catch (err) {
      if (!(err instanceof MlflowApiError && err.wireCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
    }
    const existing = await this.call('GET', 'model-versions/search', {
      filter: `name = ${quote(args.modelName)} and run_id = ${quote(args.runId)}`,
    });
    let v = existing.model_versions?.find((mv: any) => mv.source === args.source);
    if (!v) {
      v = (
        await this.call('POST', 'model-versions/create', {
          name: args.modelName,
          source: args.source,
          run_id: args.runId,
          tags: tagList(args.tags),
        })
      ).model_version;
    }
    for (let i = 0; v.status === 'PENDING_REGISTRATION' && i < 120; i++) {
      await new Promise((r) => setTimeout(r, 250));
      v = (await this.call('GET', 'model-versions/get', { name: args.modelName, version: v.version }))
        .model_version;
    }
    if (v.status !== 'READY') {
      throw new MlopsError(
        'INVALID_STATE',
        `Model version ${v.version} is ${v.status}: ${v.status_message ?? ''}`,
      );
    }
    return { version: v.version, source: v.source, runId: v.run_id, status: v.status };
  }

  async transitionStage(modelName: string, version: string, stage: 'Staging' | 'Production') {
    await this.call('POST', 'model-versions/transition-stage', {
      name: modelName,
      version,
      stage,
      archive_existing_versions: false,
    });
  }
}
