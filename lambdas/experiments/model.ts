import { z } from 'zod';
import { InvalidParameterError } from '../platform/errors';
import { type VariantShare, validateAllocation } from './allocation';
import { addOutcome, emptyTotals, type VariantTotals } from './analysis/totals';

/**
 * The words of an online experiment, as the `/v1/experiments` routes carry them: the
 * experiment itself and the outcomes posted for its units. Pure domain: the store and the
 * routes (lambdas/experiments/api) build on these.
 */

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, '1-64 letters, digits, _ . or -');

/** An A/B test of two versions of one model: who gets which is `assignVariant(allocation, salt, unit)`. */
export const ExperimentSpecSchema = z
  .object({
    name,
    model: z.string().min(1).max(256),
    control_version: z.string().min(1).max(64),
    treatment_version: z.string().min(1).max(64),
    /** Shares of units, as fractions summing to 1. */
    allocation: z
      .object({ control: z.number(), treatment: z.number() })
      .strict()
      .default({ control: 0.9, treatment: 0.1 }),
    /** Salt of the assignment hash; a new salt reshuffles units. Defaults to the name. */
    salt: z.string().min(1).max(128).optional(),
  })
  .strict();
export type ExperimentSpec = z.infer<typeof ExperimentSpecSchema>;

/**
 * The allocation of a spec in assignment order (control first), validated to sum to 1.
 *
 * @example
 * experimentAllocation(ExperimentSpecSchema.parse({ name: 'e', model: 'm', control_version: '1', treatment_version: '2' }));
 */
export function experimentAllocation(spec: ExperimentSpec): VariantShare[] {
  return validateAllocation(
    [
      { name: 'control', share: spec.allocation.control },
      { name: 'treatment', share: spec.allocation.treatment },
    ],
    'allocation',
  );
}

/** One outcome of one unit. `outcome_id` makes a retried post idempotent. */
export const OutcomeSchema = z
  .object({
    outcome_id: z.string().min(1).max(128),
    unit_id: z.string().min(1).max(256),
    converted: z.boolean().default(false),
    /** Revenue or any numeric metric; a unit's outcomes add up. */
    value: z.number().finite().default(0),
    timestamp: z.iso.datetime({ offset: true }),
  })
  .strict();
export type Outcome = z.infer<typeof OutcomeSchema>;

/** Outcomes in one `POST /v1/experiments/{id}/outcomes`, at most. */
export const MAX_OUTCOMES_PER_BATCH = 1000;

/** The body of `POST /v1/experiments/{id}/outcomes`. */
export const OutcomeBatchSchema = z
  .object({ outcomes: z.array(OutcomeSchema).min(1).max(MAX_OUTCOMES_PER_BATCH) })
  .strict();

/**
 * Folds outcomes into per-variant totals, one row per unit: a unit converted if any of its
 * outcomes did, and its value is the sum of its outcomes' values. Outcomes repeated under
 * one `outcome_id` count once; the same id with different content, or a unit that was never
 * assigned, is refused before anything is counted.
 *
 * @example
 * const totals = totalsFromOutcomes(outcomes, (unit) => assignments.get(unit));
 */
export function totalsFromOutcomes(
  outcomes: readonly Outcome[],
  variantOf: (unitId: string) => string | undefined,
): Map<string, VariantTotals> {
  const byId = new Map<string, Outcome>();
  for (const o of outcomes) {
    const seen = byId.get(o.outcome_id);
    if (seen === undefined) byId.set(o.outcome_id, o);
    else if (JSON.stringify(seen) !== JSON.stringify(o)) {
      throw new InvalidParameterError(`outcome '${o.outcome_id}' was sent twice with different content`);
    }
  }
  const units = new Map<string, { variant: string; converted: boolean; value: number }>();
  for (const o of byId.values()) {
    let u = units.get(o.unit_id);
    if (u === undefined) {
      const variant = variantOf(o.unit_id);
      if (variant === undefined) {
        throw new InvalidParameterError(
          `unit '${o.unit_id.slice(0, 64)}' was never assigned to this experiment`,
        );
      }
      u = { variant, converted: false, value: 0 };
      units.set(o.unit_id, u);
    }
    u.converted ||= o.converted;
    u.value += o.value;
  }
  const totals = new Map<string, VariantTotals>();
  for (const u of units.values()) {
    let t = totals.get(u.variant);
    if (t === undefined) {
      t = emptyTotals();
      totals.set(u.variant, t);
    }
    addOutcome(t, u.converted, u.value);
  }
  return totals;
}
