import { z } from 'zod';

/**
 * The analysis report: the body of `mlops experiments analyze --format json` and of
 * `GET /v1/experiments/{id}/analysis`. Every field is described in
 * docs/experiments.md. A statistic that is undefined for the data (too few units, a
 * control mean of 0) is null.
 */
const num = z.number().nullable();
const interval = z.tuple([num, num]);

export const DecisionSchema = z.enum(['promote', 'stop', 'keep_running']);
export type Decision = z.infer<typeof DecisionSchema>;

export const MetricSchema = z.enum(['conversion', 'value']);
export type Metric = z.infer<typeof MetricSchema>;

export const VariantReportSchema = z.object({
  name: z.string(),
  planned_share: z.number(),
  observed_share: num,
  units: z.number().int(),
  conversions: z.number().int(),
  conversion_rate: num,
  value_mean: num,
  value_sd: num,
});

const comparisonBase = {
  control: num,
  treatment: num,
  difference: num,
  difference_ci: interval,
  relative_lift: num,
  relative_lift_ci: interval,
  p_value: num,
  sequential_p_value: num,
  significant: z.boolean(),
};

export const SampleSizeSchema = z.object({
  effect_size: num,
  control_units: num,
  treatment_units: num,
  progress: num,
});

export const ComparisonSchema = z.object({
  treatment: z.string(),
  conversion: z.object({ ...comparisonBase, z: num }),
  value: z.object({ ...comparisonBase, t: num, df: num }),
  sample_size: z.object({ conversion: SampleSizeSchema, value: SampleSizeSchema }),
  decision: DecisionSchema,
  reason: z.string(),
});

export const AnalysisReportSchema = z.object({
  control: z.string(),
  primary_metric: MetricSchema,
  alpha: z.number(),
  power: z.number(),
  mde_relative: z.number(),
  confidence_level: z.number(),
  variants: z.array(VariantReportSchema),
  srm: z.object({
    chi_square: num,
    df: z.number().int(),
    p_value: num,
    threshold: z.number(),
    mismatch: z.boolean(),
  }),
  comparisons: z.array(ComparisonSchema),
  decision: DecisionSchema,
  reason: z.string(),
});

export type VariantReport = z.infer<typeof VariantReportSchema>;
export type Comparison = z.infer<typeof ComparisonSchema>;
export type AnalysisReport = z.infer<typeof AnalysisReportSchema>;
