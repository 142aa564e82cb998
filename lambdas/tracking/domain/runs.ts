import { randomUUID } from 'node:crypto';
import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import type { TrackingStore } from '../store/tracking-store';
import type { ExperimentService } from './experiments';
import type { DatasetInput, Metric, RunInfo, RunRecord, RunStatus } from './model';
import { compareMetricPoints, metricOrderKey } from './order-key';
import { decodePageToken, encodePageToken, queryFingerprint } from './page-token';
import { checkRunSize } from './run-size';
import {
  clip,
  LIMITS,
  parseInt64,
  parseMetricValue,
  validateKey,
  validateLength,
  validateParamValue,
  validateRunId,
  validateRunName,
  validateTagValue,
} from './validation';

export const RUN_NAME_TAG = 'mlflow.runName';
export const USER_TAG = 'mlflow.user';

/** A metric as a request carries it, before validation. */
export interface MetricInput {
  key: string;
  value: unknown;
  timestamp?: unknown;
  step?: unknown;
}

export interface BatchInput {
  metrics?: MetricInput[];
  params?: { key: string; value: string }[];
  tags?: { key: string; value: string }[];
}

const ADJECTIVES = ['bright', 'calm', 'bold', 'keen', 'brave', 'quick', 'wise', 'able', 'fair', 'warm'];
const NOUNS = ['fox', 'owl', 'elk', 'ram', 'yak', 'cod', 'bee', 'ant', 'gnu', 'eel'];

/**
 * Runs: create, read, update, soft delete and restore, and the logging calls. Every
 * logging call goes through `logBatch`, which validates everything before writing
 * anything; history writes are idempotent and latest values only ever move forward.
 */
export class RunService {
  constructor(
    private readonly store: TrackingStore,
    private readonly experiments: ExperimentService,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates a RUNNING run in an active experiment (`0` unless given). */
  async create(
    req: {
      experiment_id?: string;
      run_name?: string;
      start_time?: number;
      tags?: { key: string; value: string }[];
      user_id?: string;
    },
    caller: string,
  ): Promise<RunRecord> {
    const tags: Record<string, string> = {};
    for (const t of req.tags ?? []) {
      validateKey('tag', t.key);
      validateTagValue(t.key, t.value);
      tags[t.key] = t.value;
    }
    if (req.run_name) validateRunName(req.run_name);
    if (tags[RUN_NAME_TAG]) validateRunName(tags[RUN_NAME_TAG]);
    const exp = await this.experiments.getActive(req.experiment_id || '0');
    const runId = randomUUID().replace(/-/g, '');
    const runName = req.run_name || tags[RUN_NAME_TAG] || generatedName();
    tags[RUN_NAME_TAG] = runName;
    const user = tags[USER_TAG] ?? (req.user_id || caller);
    const info: RunInfo = {
      run_id: runId,
      run_name: runName,
      experiment_id: exp.experiment_id,
      user_id: user,
      status: 'RUNNING',
      start_time: req.start_time ?? this.now(),
      artifact_uri: `${exp.artifact_location.replace(/\/+$/, '')}/${runId}/artifacts`,
      lifecycle_stage: 'active',
    };
    const run: RunRecord = { info, params: {}, tags, metrics: {}, inputs: [] };
    checkRunSize(run);
    await this.store.createRun(run);
    return run;
  }

  /** The run, or RESOURCE_DOES_NOT_EXIST. */
  async get(runId: string): Promise<RunRecord> {
    validateRunId(runId);
    const run = await this.store.getRun(runId);
    if (!run) throw new NotFoundError(`Run with id=${runId} not found`);
    return run;
  }

  private async getActive(runId: string): Promise<RunRecord> {
    const run = await this.get(runId);
    if (run.info.lifecycle_stage !== 'active') {
      throw new InvalidParameterError(
        `The run ${runId} must be in the 'active' state. Current state is ${run.info.lifecycle_stage}.`,
      );
    }
    return run;
  }

  /** Updates status, end time and name of an active run; returns the new run info. */
  async update(req: {
    run_id: string;
    status?: RunStatus;
    end_time?: number;
    run_name?: string;
  }): Promise<RunInfo> {
    if (req.run_name) validateRunName(req.run_name);
    const run = await this.getActive(req.run_id);
    const changes = { status: req.status, end_time: req.end_time, run_name: req.run_name || undefined };
    await this.store.updateRunInfo(req.run_id, changes);
    const info: Record<string, unknown> = { ...run.info };
    for (const [k, v] of Object.entries(changes)) if (v !== undefined) info[k] = v;
    return info as unknown as RunInfo;
  }

  /** Soft-deletes a run. */
  async delete(runId: string): Promise<void> {
    await this.get(runId);
    await this.store.updateRunInfo(runId, { lifecycle_stage: 'deleted' });
  }

  /** Restores a deleted run. */
  async restore(runId: string): Promise<void> {
    await this.get(runId);
    await this.store.updateRunInfo(runId, { lifecycle_stage: 'active' });
  }

  /** Deletes a tag; RESOURCE_DOES_NOT_EXIST when the run has no such tag. */
  async deleteTag(runId: string, key: string): Promise<void> {
    const run = await this.getActive(runId);
    if (run.tags[key] === undefined) {
      throw new NotFoundError(`No tag with name: ${key} in run with id ${runId}`);
    }
    await this.store.writeRunData(runId, { deleteTags: [key] });
  }

  /**
   * Logs metrics, params and tags in one go, validating all of it first (limits, names,
   * value lengths, duplicate params, changed params) so bad input writes nothing.
   */
  async logBatch(runId: string, batch: BatchInput): Promise<void> {
    const metricsIn = batch.metrics ?? [];
    const paramsIn = batch.params ?? [];
    const tagsIn = batch.tags ?? [];
    if (metricsIn.length > LIMITS.batchMetrics) {
      throw new InvalidParameterError(
        `A batch logging request can contain at most ${LIMITS.batchMetrics} metrics. Got ${metricsIn.length} metrics. Please split up metrics across multiple requests and try again.`,
      );
    }
    if (paramsIn.length > LIMITS.batchParams) {
      throw new InvalidParameterError(
        `A batch logging request can contain at most ${LIMITS.batchParams} params. Got ${paramsIn.length} params. Please split up params across multiple requests and try again.`,
      );
    }
    if (tagsIn.length > LIMITS.batchTags) {
      throw new InvalidParameterError(
        `A batch logging request can contain at most ${LIMITS.batchTags} tags. Got ${tagsIn.length} tags. Please split up tags across multiple requests and try again.`,
      );
    }
    const total = metricsIn.length + paramsIn.length + tagsIn.length;
    if (total > LIMITS.batchEntities) {
      throw new InvalidParameterError(
        `A batch logging request can contain at most ${LIMITS.batchEntities} metrics, params and tags in total. Got ${total}.`,
      );
    }
    validateRunId(runId);
    const now = this.now();
    const metrics: Metric[] = metricsIn.map((m) => {
      validateKey('metric', m.key);
      return {
        key: m.key,
        value: parseMetricValue(m.key, m.value),
        timestamp: parseInt64('timestamp', m.timestamp, now),
        step: parseInt64('step', m.step, 0),
      };
    });
    const params: Record<string, string> = {};
    for (const p of paramsIn) {
      validateKey('param', p.key);
      const value = String(p.value ?? '');
      validateParamValue(p.key, value);
      const dup = params[p.key];
      if (dup !== undefined && dup !== value) {
        throw new InvalidParameterError(
          `Duplicate parameter keys have been submitted: '${p.key}' with values '${clip(dup)}' and '${clip(value)}'. Please ensure the request contains only one param value per param key.`,
        );
      }
      params[p.key] = value;
    }
    const tags: Record<string, string> = {};
    for (const t of tagsIn) {
      validateKey('tag', t.key);
      const value = String(t.value ?? '');
      validateTagValue(t.key, value);
      tags[t.key] = value; // the last one in a batch wins
    }
    if (tags[RUN_NAME_TAG] !== undefined) validateRunName(tags[RUN_NAME_TAG]);
    const run = await this.getActive(runId);
    for (const [k, v] of Object.entries(params)) {
      const old = run.params[k];
      if (old !== undefined && old !== v) {
        throw new InvalidParameterError(
          `Changing param values is not allowed. Param with key='${k}' was already logged with value='${clip(old)}' for run ID='${runId}'. Attempted logging new value '${clip(v)}'.`,
        );
      }
    }
    // Only points that beat what is stored go to the latest map; the store re-checks under a condition.
    const best = new Map<string, Metric>();
    for (const m of metrics) {
      const cur = best.get(m.key);
      if (!cur || compareMetricPoints(m, cur) > 0) best.set(m.key, m);
    }
    const latest = [...best.values()].filter((m) => {
      const stored = run.metrics[m.key];
      return !stored || metricOrderKey(stored) < metricOrderKey(m);
    });
    const newParams = Object.fromEntries(Object.entries(params).filter(([k]) => run.params[k] === undefined));
    // Refuse a batch the run's item cannot hold before writing any of it.
    checkRunSize({
      ...run,
      params: { ...run.params, ...newParams },
      tags: { ...run.tags, ...tags },
      metrics: { ...run.metrics, ...Object.fromEntries(latest.map((m) => [m.key, m])) },
    });
    if (metrics.length) await this.store.appendMetricHistory(runId, metrics);
    await this.store.writeRunData(runId, { params: newParams, tags, latest });
    const renamed = tags[RUN_NAME_TAG];
    if (renamed !== undefined && renamed !== run.info.run_name) {
      await this.store.updateRunInfo(runId, { run_name: renamed });
    }
  }

  /** Records dataset inputs (deduplicated by name and digest). */
  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    for (const d of datasets) {
      if (!d.dataset?.name || !d.dataset.digest) {
        throw new InvalidParameterError("Each dataset input needs 'dataset.name' and 'dataset.digest'.");
      }
      validateLength('dataset.name', d.dataset.name, LIMITS.datasetName);
      validateLength('dataset.digest', d.dataset.digest, LIMITS.datasetDigest);
      for (const t of d.tags ?? []) {
        validateLength('tags.key', t.key, LIMITS.inputTagKey);
        validateLength('tags.value', t.value, LIMITS.inputTagValue);
      }
    }
    const run = await this.getActive(runId);
    checkRunSize({ ...run, inputs: [...run.inputs, ...datasets] });
    await this.store.addRunInputs(runId, datasets);
  }

  /** One metric's full history, paged. */
  async history(req: {
    run_id: string;
    metric_key: string;
    max_results?: number;
    page_token?: string;
  }): Promise<{ metrics: Metric[]; next_page_token?: string }> {
    await this.get(req.run_id);
    const max = req.max_results ?? 25000;
    if (max < 1 || max > 25000) {
      throw new InvalidParameterError(`Invalid value ${max} for parameter 'max_results': use 1 to 25000.`);
    }
    const fp = queryFingerprint(['history', req.run_id, req.metric_key]);
    const pos = decodePageToken(req.page_token, fp);
    const { metrics, last } = await this.store.metricHistory(req.run_id, req.metric_key, {
      after: pos?.after,
      limit: max,
    });
    return { metrics, next_page_token: last ? encodePageToken({ after: last }, fp) : undefined };
  }
}

function generatedName(): string {
  const pick = (xs: readonly string[]) => xs[Math.floor(Math.random() * xs.length)] as string;
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 1000)}`;
}
