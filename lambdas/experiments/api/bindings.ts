import { bind, type RouteBinding } from '../../platform/http/route';
import { guardText } from '../../tracking/api/text-guard';
import type { ExperimentService } from '../domain/experiments';
import {
  analysisRoute,
  createExperimentRoute,
  getExperimentRoute,
  listExperimentsRoute,
  recordOutcomesRoute,
  stopExperimentRoute,
} from './routes';

/**
 * The experiment API's route implementations over the service, so tests can run them
 * in-process as well as through the gateway.
 *
 * @example
 * export const handler = httpApi(experimentBindings(new ExperimentService({ store, registry })));
 */
export function experimentBindings(service: ExperimentService): RouteBinding[] {
  // Strings DynamoDB cannot store as sent (U+0000, unpaired surrogates) are 400s, not 500s.
  return guardText([
    bind(createExperimentRoute, async (spec) => ({ experiment: await service.create(spec) })),
    bind(getExperimentRoute, async ({ id }) => ({ experiment: await service.get(id) })),
    bind(listExperimentsRoute, async ({ model }) => ({ experiments: await service.list(model) })),
    bind(stopExperimentRoute, async ({ id }) => ({ experiment: await service.stop(id) })),
    bind(recordOutcomesRoute, ({ id, outcomes }) => service.recordOutcomes(id, outcomes)),
    bind(analysisRoute, ({ id, mde, power, alpha, primary }) =>
      service.analyze(id, {
        ...(mde !== undefined ? { mdeRelative: mde } : {}),
        ...(power !== undefined ? { power } : {}),
        ...(alpha !== undefined ? { alpha } : {}),
        ...(primary !== undefined ? { primaryMetric: primary } : {}),
      }),
    ),
  ]);
}
