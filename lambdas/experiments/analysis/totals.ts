/**
 * The sufficient statistics of one variant: everything the analysis reads, so outcomes can
 * be reduced in one pass with bounded memory (a CSV stream, or counters in a store).
 * The value metric is kept as count, mean and M2 = Σ(x − mean)² (Welford), which stays
 * exact where sum and sum of squares would cancel; `fromSums` converts the latter.
 */
export interface VariantTotals {
  /** Units (one outcome row per unit). */
  units: number;
  /** Units that converted. */
  conversions: number;
  /** Mean of the value metric over the units. */
  valueMean: number;
  /** Σ(value − valueMean)² over the units. */
  valueM2: number;
}

/**
 * A zeroed accumulator.
 *
 * @example
 * const t = emptyTotals();
 * addOutcome(t, true, 12.5);
 */
export function emptyTotals(): VariantTotals {
  return { units: 0, conversions: 0, valueMean: 0, valueM2: 0 };
}

/** Adds one unit's outcome (Welford's update). */
export function addOutcome(t: VariantTotals, converted: boolean, value: number): void {
  t.units += 1;
  if (converted) t.conversions += 1;
  const delta = value - t.valueMean;
  t.valueMean += delta / t.units;
  t.valueM2 += delta * (value - t.valueMean);
}

/**
 * Combines two disjoint sets of units (Chan et al.'s pairwise update), e.g. partial
 * totals from parallel readers.
 *
 * @example
 * const all = mergeTotals(fromPartA, fromPartB);
 */
export function mergeTotals(a: VariantTotals, b: VariantTotals): VariantTotals {
  const units = a.units + b.units;
  if (units === 0) return emptyTotals();
  const delta = b.valueMean - a.valueMean;
  return {
    units,
    conversions: a.conversions + b.conversions,
    valueMean: a.valueMean + (delta * b.units) / units,
    valueM2: a.valueM2 + b.valueM2 + (delta * delta * a.units * b.units) / units,
  };
}

/**
 * Totals from plain sums, as an atomic-counter store keeps them (n, conversions, Σx, Σx²).
 *
 * @example
 * fromSums(3, 1, 6, 14); // mean 2, M2 2
 */
export function fromSums(units: number, conversions: number, sum: number, sumSquares: number): VariantTotals {
  if (units === 0) return emptyTotals();
  const valueMean = sum / units;
  return { units, conversions, valueMean, valueM2: Math.max(0, sumSquares - sum * valueMean) };
}

/** Sample variance of the value metric (n − 1 denominator); NaN below two units. */
export function valueVariance(t: VariantTotals): number {
  return t.units > 1 ? t.valueM2 / (t.units - 1) : Number.NaN;
}
