import { z } from 'zod';

/**
 * How each feature is judged. Defaults follow Evidently's: on small baselines (at most
 * `smallSampleLimit` values) a test, KS p < 0.05 for numeric and chi-square p < 0.05 for
 * categorical; on larger ones a distance, normalized Wasserstein > 0.1 and Jensen–Shannon
 * > 0.1, since with many rows every test rejects on differences too small to matter. PSI
 * (> 0.2) is always reported and can be chosen per feature.
 */
export const DriftMethodSchema = z.enum(['auto', 'ks', 'wasserstein', 'psi', 'chisquare', 'jensenshannon']);
export type DriftMethod = z.infer<typeof DriftMethodSchema>;
export type ResolvedMethod = Exclude<DriftMethod, 'auto'>;

/** Methods whose score is a p-value: drift when the p-value is below the threshold. */
export const P_VALUE_METHODS: ReadonlySet<ResolvedMethod> = new Set(['ks', 'chisquare']);

export const DEFAULT_THRESHOLDS: Readonly<Record<ResolvedMethod, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.2,
};

export const NUMERIC_METHODS: ReadonlySet<ResolvedMethod> = new Set(['ks', 'wasserstein', 'psi']);
export const CATEGORICAL_METHODS: ReadonlySet<ResolvedMethod> = new Set([
  'chisquare',
  'jensenshannon',
  'psi',
]);

export const FeatureDriftConfigSchema = z
  .object({
    /** Treat the column as numeric or categorical (default: numeric when every baseline value parses as a number). */
    type: z.enum(['numeric', 'categorical']).optional(),
    method: DriftMethodSchema.optional(),
    /** Default: DEFAULT_THRESHOLDS[method]. */
    threshold: z.number().positive().optional(),
  })
  .strict();
export type FeatureDriftConfig = z.infer<typeof FeatureDriftConfigSchema>;

export const DriftConfigSchema = z
  .object({
    /** Fewer non-missing values than this on either side gives `insufficient_data`, not a verdict. */
    minSamples: z.number().int().min(1).default(100),
    /** Baselines up to this many values get the tests; larger ones the distances. */
    smallSampleLimit: z.number().int().min(1).default(1000),
    /** The dataset drifts when at least this share of judged features drift. */
    driftShare: z.number().gt(0).max(1).default(0.5),
    /** Values kept exactly per column and side; beyond, a grid sketch (see docs/monitoring.md). */
    exactLimit: z.number().int().min(1).default(1_000_000),
    gridBins: z.number().int().min(16).max(65_536).default(4096),
    maxCategories: z.number().int().min(1).default(10_000),
    /** Column holding the model's prediction: compared like a feature, reported apart. */
    prediction: z.string().min(1).optional(),
    features: z.record(z.string(), FeatureDriftConfigSchema).default({}),
  })
  .strict();
export type DriftConfig = z.infer<typeof DriftConfigSchema>;
export type DriftConfigInput = z.input<typeof DriftConfigSchema>;
