import { NotFoundError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import type { RegistryStore } from '../../tracking/store/registry-store';
import { readLatestPerformance } from '../performance/performance-store';
import { readDriftReports } from './drift-reports';
import { performanceResponse } from './performance-view';
import { MAX_VERSIONS, type MetricsReader, requestMetrics } from './request-metrics';
import { DEFAULT_LIMIT } from './routes';
import type { DriftReportsResponse, PerformanceResponse, RequestMetricsResponse } from './schemas';

export interface MonitoringReadDeps {
  /** The monitoring bucket's store: drift reports (`reports/`) and performance runs (`performance/`). */
  readonly store: ObjectStore;
  readonly bucket: string;
  /** The registry: an unknown model is a 404; its versions say whose request metrics to read. */
  readonly registry: Pick<RegistryStore, 'getModel' | 'listVersions'>;
  readonly metrics: MetricsReader;
  readonly now?: () => number;
}

/**
 * What the monitoring API reads: the drift job's reports, the performance job's latest run,
 * and the serving function's request metrics, for one registered model.
 *
 * @example
 * const service = new MonitoringReadService({ store, bucket: 'monitoring', registry, metrics: new CloudWatchMetricsReader(cloudwatch) });
 * const { reports, latest } = await service.drift('churn', {});
 */
export class MonitoringReadService {
  constructor(private readonly deps: MonitoringReadDeps) {}

  private async requireModel(name: string): Promise<void> {
    if (!(await this.deps.registry.getModel(name))) {
      throw new NotFoundError(`Registered model '${name}' does not exist: register it, or check the name`);
    }
  }

  async drift(name: string, o: { version?: string; limit?: number }): Promise<DriftReportsResponse> {
    await this.requireModel(name);
    return readDriftReports(this.deps.store, this.deps.bucket, name, {
      ...(o.version !== undefined ? { version: o.version } : {}),
      limit: o.limit ?? DEFAULT_LIMIT,
    });
  }

  async performance(name: string, o: { version?: string; limit?: number }): Promise<PerformanceResponse> {
    await this.requireModel(name);
    const run = await readLatestPerformance(this.deps.store, this.deps.bucket, name);
    return performanceResponse(name, run, {
      ...(o.version !== undefined ? { version: o.version } : {}),
      limit: o.limit ?? DEFAULT_LIMIT,
    });
  }

  /** Request metrics of one version, or of the model's MAX_VERSIONS newest versions. */
  async requestMetrics(
    name: string,
    o: { minutes?: number; period?: number; version?: string },
  ): Promise<RequestMetricsResponse> {
    await this.requireModel(name);
    const versions =
      o.version !== undefined
        ? [o.version]
        : (await this.deps.registry.listVersions(name))
            .map((v) => v.version)
            .sort((a, b) => Number(b) - Number(a))
            .slice(0, MAX_VERSIONS);
    return requestMetrics(this.deps.metrics, {
      model: name,
      versions,
      minutes: o.minutes ?? 60,
      periodSeconds: o.period ?? 60,
      now: (this.deps.now ?? Date.now)(),
    });
  }
}
