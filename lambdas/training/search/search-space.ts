import { z } from 'zod';

/**
 * A hyperparameter search space: each parameter is a list of values, or a numeric range
 * (log-scaled and/or integer). Grid search uses the lists and `gridPoints` points per range.
 */
export const ParamRangeSchema = z.union([
  z.object({ values: z.array(z.union([z.number(), z.string(), z.boolean()])).min(1) }),
  z
    .object({
      low: z.number(),
      high: z.number(),
      log: z.boolean().default(false),
      int: z.boolean().default(false),
    })
    .refine((r) => r.high >= r.low, { message: 'high must be >= low' })
    .refine((r) => !r.log || r.low > 0, { message: 'a log range needs low > 0' }),
]);
export const SearchSpaceSchema = z.record(z.string(), ParamRangeSchema);
export type ParamRange = z.infer<typeof ParamRangeSchema>;
export type SearchSpace = z.infer<typeof SearchSpaceSchema>;
export type ParamValue = number | string | boolean;
export type TrialParams = Record<string, ParamValue>;

/** Maps u in [0, 1) onto a range (log-uniform when `log`, rounded when `int`). */
export function fromUnit(r: Extract<ParamRange, { low: number }>, u: number): number {
  const v = r.log
    ? Math.exp(Math.log(r.low) + u * (Math.log(r.high) - Math.log(r.low)))
    : r.low + u * (r.high - r.low);
  return r.int ? Math.min(r.high, Math.max(r.low, Math.round(v))) : v;
}

/** Maps a value of a range back to [0, 1] (inverse of fromUnit, ignoring rounding). */
export function toUnit(r: Extract<ParamRange, { low: number }>, v: number): number {
  if (r.high === r.low) return 0.5;
  return r.log
    ? (Math.log(v) - Math.log(r.low)) / (Math.log(r.high) - Math.log(r.low))
    : (v - r.low) / (r.high - r.low);
}

/** Default spaces per built-in algorithm. */
export const DEFAULT_SPACES: Record<'logistic' | 'gbdt', SearchSpace> = {
  logistic: { C: { low: 1e-3, high: 100, log: true, int: false } },
  gbdt: {
    learningRate: { low: 0.02, high: 0.3, log: true, int: false },
    maxLeafNodes: { low: 7, high: 63, log: false, int: true },
    minSamplesLeaf: { low: 5, high: 50, log: false, int: true },
    l2Regularization: { low: 0, high: 1, log: false, int: false },
  },
};
