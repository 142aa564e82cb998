import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import { type Batch, chunkBatch } from './batch';
import { collectPages } from './paging';
import { MlflowApiError, type MlflowCall } from './rest';
import type { Experiment, KeyValue, Metric, MetricPoint, Run, RunInfo, RunStatus, ViewType } from './types';

/** Server page limits: `runs/search` answers ≤50,000 runs, `metrics/get-history` ≤25,000 points. */
const RUN_PAGE = 1000;
const HISTORY_PAGE = 25000;
const EXPERIMENT_PAGE = 1000;

/** A record of tags or params as MLflow's `[{key, value}]` list. */
export const keyValues = (r: Readonly<Record<string, string>>): KeyValue[] =>
  Object.entries(r).map(([key, value]) => ({ key, value }));

/** What `searchRuns` filters and orders by; paging is the client's business. */
export interface RunQuery {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  viewType?: ViewType;
  /** Stop after this many runs (default: all). */
  maxResults?: number;
}

/**
 * Typed calls to MLflow's experiments, runs and metrics endpoints. Listings follow
 * page tokens to the end (or `maxResults`); batches are split to MLflow's limits.
 *
 * @example
 * const tracking = new TrackingClient(connect(resolveConnection({})));
 * const exp = await tracking.getOrCreateExperiment('churn');
 * const run = await tracking.createRun({ experimentId: exp, runName: 'baseline' });
 * await tracking.logBatch(run.info.run_id, { params: [{ key: 'lr', value: '0.1' }] });
 */
export class TrackingClient {
  constructor(private readonly call: MlflowCall) {}

  /** An experiment by id. */
  async getExperiment(experimentId: string): Promise<Experiment> {
    return (await this.call('GET', 'experiments/get', { experiment_id: experimentId })).experiment;
  }

  /** An experiment by name. */
  async getExperimentByName(name: string): Promise<Experiment> {
    return (await this.call('GET', 'experiments/get-by-name', { experiment_name: name })).experiment;
  }

  /**
   * An experiment by name, or by id when no experiment has that name: what a user means
   * by `--experiment 3` or `--experiment churn`.
   */
  async findExperiment(nameOrId: string): Promise<Experiment> {
    try {
      return await this.getExperimentByName(nameOrId);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (/^[a-zA-Z0-9][\w-]{0,63}$/.test(nameOrId)) {
      try {
        return await this.getExperiment(nameOrId);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    throw new NotFoundError(
      `no experiment named or numbered '${nameOrId}': list them with \`mlops runs list\``,
    );
  }

  /** Creates an experiment; answers its id. */
  async createExperiment(name: string, tags: Record<string, string> = {}): Promise<string> {
    return (await this.call('POST', 'experiments/create', { name, tags: keyValues(tags) })).experiment_id;
  }

  /** The id of the experiment with this name, created if missing (a concurrent creator wins). */
  async getOrCreateExperiment(name: string): Promise<string> {
    try {
      return (await this.getExperimentByName(name)).experiment_id;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      return await this.createExperiment(name);
    } catch (err) {
      if (err instanceof MlflowApiError && err.wireCode === 'RESOURCE_ALREADY_EXISTS')
        return (await this.getExperimentByName(name)).experiment_id;
      throw err;
    }
  }

  /** All experiments matching a filter, every page read. */
  async searchExperiments(
    q: { filter?: string; orderBy?: string[]; viewType?: ViewType; maxResults?: number } = {},
  ): Promise<Experiment[]> {
    return collectPages(
      async (token, size) => {
        const r = await this.call('POST', 'experiments/search', {
          filter: q.filter,
          order_by: q.orderBy,
          view_type: q.viewType,
          max_results: size,
          page_token: token,
        });
        return { items: r.experiments ?? [], next: r.next_page_token };
      },
      { pageSize: EXPERIMENT_PAGE, max: q.maxResults },
    );
  }

  /** Starts a run (RUNNING); `runName` is also written as the `mlflow.runName` tag. */
  async createRun(args: {
    experimentId: string;
    runName?: string;
    startTime?: number;
    tags?: Record<string, string>;
    userId?: string;
  }): Promise<Run> {
    const tags = { ...args.tags, ...(args.runName ? { 'mlflow.runName': args.runName } : {}) };
    return (
      await this.call('POST', 'runs/create', {
        experiment_id: args.experimentId,
        run_name: args.runName,
        start_time: args.startTime ?? Date.now(),
        tags: keyValues(tags),
        user_id: args.userId,
      })
    ).run;
  }

  /** A run with its params, tags, latest metrics and inputs. */
  async getRun(runId: string): Promise<Run> {
    return (await this.call('GET', 'runs/get', { run_id: runId })).run;
  }

  /** Runs of some experiments matching a filter, every page read (`pageSize` only tunes requests). */
  async searchRuns(q: RunQuery, opts: { pageSize?: number } = {}): Promise<Run[]> {
    if (q.experimentIds.length === 0)
      throw new InvalidParameterError('searching runs needs at least one experiment id');
    return collectPages(
      async (token, size) => {
        const r = await this.call('POST', 'runs/search', {
          experiment_ids: q.experimentIds,
          filter: q.filter,
          order_by: q.orderBy,
          run_view_type: q.viewType,
          max_results: size,
          page_token: token,
        });
        return { items: r.runs ?? [], next: r.next_page_token };
      },
      { pageSize: opts.pageSize ?? RUN_PAGE, max: q.maxResults },
    );
  }

  /** Sets a run's status, end time or name; answers the updated info. */
  async updateRun(
    runId: string,
    update: { status?: RunStatus; endTime?: number; runName?: string },
  ): Promise<RunInfo> {
    return (
      await this.call('POST', 'runs/update', {
        run_id: runId,
        status: update.status,
        end_time: update.endTime,
        run_name: update.runName,
      })
    ).run_info;
  }

  /** Ends a run now with a final status. */
  async endRun(runId: string, status: 'FINISHED' | 'FAILED' | 'KILLED' = 'FINISHED'): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime: Date.now() });
  }

  /**
   * Logs metrics, params and tags of any count, in as many `runs/log-batch` requests as
   * MLflow's limits need; answers that number. Points without a timestamp get one now.
   */
  async logBatch(runId: string, batch: Partial<Batch>): Promise<number> {
    const now = Date.now();
    const metrics = (batch.metrics ?? []).map((m) => ({
      key: m.key,
      value: m.value,
      timestamp: m.timestamp ?? now,
      step: m.step ?? 0,
    }));
    const chunks = chunkBatch({ ...batch, metrics });
    for (const c of chunks) await this.call('POST', 'runs/log-batch', { run_id: runId, ...c });
    return chunks.length;
  }

  /** Logs params from a record (values are immutable once logged). */
  async logParams(runId: string, params: Record<string, string | number | boolean>): Promise<number> {
    return this.logBatch(runId, {
      params: Object.entries(params).map(([key, v]) => ({ key, value: String(v) })),
    });
  }

  /** Sets tags from a record (a tag may be overwritten). */
  async setTags(runId: string, tags: Record<string, string>): Promise<number> {
    return this.logBatch(runId, { tags: keyValues(tags) });
  }

  /** Logs metric points. */
  async logMetrics(runId: string, metrics: MetricPoint[]): Promise<number> {
    return this.logBatch(runId, { metrics });
  }

  /** Every point of one metric, in (step, timestamp, value) order, every page read. */
  async getMetricHistory(runId: string, key: string, opts: { pageSize?: number } = {}): Promise<Metric[]> {
    return collectPages(
      async (token, size) => {
        const r = await this.call('GET', 'metrics/get-history', {
          run_id: runId,
          metric_key: key,
          max_results: size,
          page_token: token,
        });
        return { items: r.metrics ?? [], next: r.next_page_token };
      },
      { pageSize: opts.pageSize ?? HISTORY_PAGE },
    );
  }
}

/** True for the API's "does not exist" answer. */
export function isNotFound(err: unknown): boolean {
  return err instanceof MlflowApiError && err.wireCode === 'RESOURCE_DOES_NOT_EXIST';
}
