import { z } from 'zod';
import { InvalidParameterError } from '../../platform/errors';

/** Metrics where a smaller value is better; every other metric is better when larger. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['log_loss', 'brier', 'rmse', 'mae']);

/**
 * A promotion rule: the candidate must improve `metric` by at least `minImprovement`
 * (in the metric's better direction), and no guarded metric may get worse by more than its
 * tolerance. With no Production version, the candidate is promoted when the primary metric
 * is finite.
 */
export const PromotionRuleSchema = z.object({
  metric: z.string().min(1),
  minImprovement: z.number().min(0).default(0),
  guards: z.array(z.object({ metric: z.string().min(1), maxRegression: z.number().min(0) })).default([]),
});
export type PromotionRule = z.infer<typeof PromotionRuleSchema>;

export const DEFAULT_BINARY_RULE: PromotionRule = {
  metric: 'auc',
  minImprovement: 0,
  guards: [{ metric: 'log_loss', maxRegression: 0.01 }],
};
export const DEFAULT_REGRESSION_RULE: PromotionRule = { metric: 'rmse', minImprovement: 0, guards: [] };

export interface PromotionVerdict {
  readonly promote: boolean;
  /** One line per check, so the logged verdict says why. */
  readonly reasons: readonly string[];
  readonly rule: PromotionRule;
}

/** How much better `candidate` is than `current` for the metric (positive = better). */
export function improvement(metric: string, candidate: number, current: number): number {
  return LOWER_IS_BETTER.has(metric) ? current - candidate : candidate - current;
}

/**
 * Decides whether the candidate replaces Production; both score sets must come from the
 * same test rows.
 *
 * @example
 * decidePromotion(DEFAULT_BINARY_RULE, { auc: 0.91, log_loss: 0.3 }, { auc: 0.9, log_loss: 0.31 });
 */
export function decidePromotion(
  rule: PromotionRule,
  candidate: Readonly<Record<string, number>>,
  production: Readonly<Record<string, number>> | undefined,
  /** Why there are no Production scores, for the verdict's reasons. */
  noProduction = 'no Production version',
): PromotionVerdict {
  const metricOf = (scores: Readonly<Record<string, number>>, name: string, who: string): number => {
    const v = scores[name];
    if (v === undefined) {
      throw new InvalidParameterError(
        `Promotion rule names metric '${name}', which the ${who} scores lack (have: ${Object.keys(scores).join(', ')})`,
      );
    }
    return v;
  };
  const cand = metricOf(candidate, rule.metric, 'candidate');
  if (!production) {
    const ok = Number.isFinite(cand);
    return {
      promote: ok,
      reasons: [ok ? `${noProduction}; ${rule.metric}=${cand}` : `${rule.metric} is not finite (${cand})`],
      rule,
    };
  }
  const reasons: string[] = [];
  let promote = true;
  const gain = improvement(rule.metric, cand, metricOf(production, rule.metric, 'Production'));
  if (gain >= rule.minImprovement && Number.isFinite(gain)) {
    reasons.push(`${rule.metric} improves by ${gain.toPrecision(4)} (needs >= ${rule.minImprovement})`);
  } else {
    promote = false;
    reasons.push(
      `${rule.metric} improves by ${gain.toPrecision(4)}, less than the required ${rule.minImprovement}`,
    );
  }
  for (const g of rule.guards) {
    const delta = improvement(
      g.metric,
      metricOf(candidate, g.metric, 'candidate'),
      metricOf(production, g.metric, 'Production'),
    );
    if (-delta > g.maxRegression) {
      promote = false;
      reasons.push(
        `guard ${g.metric} gets worse by ${(-delta).toPrecision(4)}, more than ${g.maxRegression}`,
      );
    } else {
      reasons.push(`guard ${g.metric} within ${g.maxRegression} (change ${delta.toPrecision(4)})`);
    }
  }
  return { promote, reasons, rule };
}
