import { bind, type RouteBinding } from '../../../platform/http/route';
import type { ShadowService } from '../service';
import { deleteShadowRoute, getShadowRoute, setShadowRoute, shadowReportRoute } from './routes';

/**
 * Shadow mode's routes over the service, so tests can run them in-process as well as
 * through the gateway.
 *
 * @example
 * export const handler = httpApi(shadowBindings(new ShadowService({ store, bucket, registry })));
 */
export function shadowBindings(service: ShadowService): RouteBinding[] {
  return [
    bind(setShadowRoute, async ({ name, ...spec }) => ({ shadow: await service.set(name, spec) })),
    bind(getShadowRoute, async ({ name }) => ({ shadow: await service.get(name) })),
    bind(deleteShadowRoute, ({ name }) => service.delete(name)),
    bind(shadowReportRoute, ({ name, ...options }) => service.report(name, options)),
  ];
}
