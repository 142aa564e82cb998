import { bind, type RouteBinding } from '../../platform/http/route';
import { driftReportsRoute, performanceRoute, requestMetricsRoute } from './routes';
import type { MonitoringReadService } from './service';

/**
 * The monitoring read routes over the service, so tests can run them in-process as well as
 * through the gateway.
 *
 * @example
 * export const handler = httpApi(monitoringReadBindings(new MonitoringReadService(deps)));
 */
export function monitoringReadBindings(service: MonitoringReadService): RouteBinding[] {
  return [
    bind(driftReportsRoute, ({ name, ...o }) => service.drift(name, o)),
    bind(performanceRoute, ({ name, ...o }) => service.performance(name, o)),
    bind(requestMetricsRoute, ({ name, ...o }) => service.requestMetrics(name, o)),
  ];
}
