import { InvalidParameterError } from '../../platform/errors';
import type { CategoricalSummary, NumericSummary } from '../drift/accumulators';
import type { BaselineProfile, CategoricalProfile, NumericProfile } from './baseline-profile';

export type ProfileSummary = NumericSummary | CategoricalSummary;

function numericSummary(name: string, p: NumericProfile): NumericSummary {
  const n = Math.round(p.count * (1 - p.missingRate));
  const base = { kind: 'numeric' as const, total: p.count, missing: p.count - n, n };
  if (n === 0) {
    return {
      ...base,
      mean: Number.NaN,
      std: Number.NaN,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
      sorted: new Float64Array(0),
    };
  }
  const s = p.sketch;
  if (!s) {
    throw new InvalidParameterError(
      `The baseline profile has no drift sketch for '${name}' (it was written before profile version 2): retrain the model to compare its traffic`,
    );
  }
  const edges = Float64Array.from(s.edges);
  return {
    ...base,
    mean: p.mean,
    std: p.std,
    min: s.min,
    max: s.max,
    grid: { edges, psiEdges: Float64Array.from(s.psiEdges) },
    binned: {
      n,
      counts: Float64Array.from(s.counts),
      atEdge: Float64Array.from(s.atEdge),
      lowSum: s.lowSum,
      highSum: s.highSum,
    },
  };
}

function categoricalSummary(p: CategoricalProfile): CategoricalSummary {
  const n = Math.round(p.count * (1 - p.missingRate));
  // Shares back to counts: the profile rounded nothing, so this recovers the test set's counts.
  const counts = new Map(Object.entries(p.frequencies).map(([k, share]) => [k, Math.round(share * n)]));
  return { kind: 'categorical', total: p.count, missing: p.count - n, n, counts };
}

/**
 * A stored baseline profile as the summaries the drift statistics compare: numeric features
 * and the predictions as the grid sketch the profile carries (its PSI cut points and quantile
 * grid), categorical ones as counts. Throws InvalidParameterError for a profile written
 * before the sketch existed.
 *
 * @example
 * const { features, prediction } = profileSummaries(profile);
 * compareFeature('age', features.get('age')!, current, config);
 */
export function profileSummaries(profile: BaselineProfile): {
  features: Map<string, ProfileSummary>;
  prediction: NumericSummary;
} {
  const features = new Map<string, ProfileSummary>();
  for (const [name, p] of Object.entries(profile.features)) {
    features.set(name, p.kind === 'numeric' ? numericSummary(name, p) : categoricalSummary(p));
  }
  return { features, prediction: numericSummary('prediction', profile.predictions) };
}
