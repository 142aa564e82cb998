import { z } from 'zod';
import { InvalidParameterError } from '../platform/errors';
import { MAX_BINS } from './gbdt/binning';
import { DEFAULT_GBDT_PARAMS, type GbdtParams } from './gbdt/gbdt';
import { DEFAULT_LOGISTIC_PARAMS, type LogisticParams } from './logistic/logistic-regression';

export const ALGORITHMS = ['logistic', 'gbdt'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

const num = z.coerce.number();
/** Threads to train on: the model does not depend on it (default: the cores the run may use). */
const threads = num.int().min(1).max(64).optional();
const LogisticParamsSchema = z
  .object({
    C: num.positive().default(DEFAULT_LOGISTIC_PARAMS.C),
    maxIterations: num.int().min(1).max(10_000).default(DEFAULT_LOGISTIC_PARAMS.maxIterations),
    tolerance: num.positive().default(DEFAULT_LOGISTIC_PARAMS.tolerance),
    threads,
  })
  .strict();

const GbdtParamsSchema = z
  .object({
    learningRate: num.positive().max(1).default(DEFAULT_GBDT_PARAMS.learningRate),
    maxIterations: num.int().min(1).max(10_000).default(DEFAULT_GBDT_PARAMS.maxIterations),
    maxLeafNodes: num.int().min(2).max(4096).default(DEFAULT_GBDT_PARAMS.maxLeafNodes),
    maxDepth: num.int().min(1).optional(),
    minSamplesLeaf: num.int().min(1).default(DEFAULT_GBDT_PARAMS.minSamplesLeaf),
    l2Regularization: num.min(0).default(DEFAULT_GBDT_PARAMS.l2Regularization),
    maxBins: num.int().min(2).max(MAX_BINS).default(DEFAULT_GBDT_PARAMS.maxBins),
    nIterNoChange: num.int().min(1).default(DEFAULT_GBDT_PARAMS.nIterNoChange),
    tolerance: num.min(0).default(DEFAULT_GBDT_PARAMS.tolerance),
    /** 'auto' stops early when there are more than 10,000 training rows, as scikit-learn. */
    earlyStopping: z
      .enum(['auto', 'true', 'false'])
      .or(z.boolean().transform((b) => String(b) as 'true' | 'false'))
      .default('auto'),
    validationFraction: num.gt(0).lt(1).default(0.1),
    seed: num.int().default(0),
    threads,
  })
  .strict();

export type ParsedParams =
  | { readonly algorithm: 'logistic'; readonly params: LogisticParams }
  | {
      readonly algorithm: 'gbdt';
      readonly params: GbdtParams;
      readonly earlyStopping: 'auto' | 'true' | 'false';
      readonly validationFraction: number;
    };

/** Option names each algorithm accepts (for messages and search-space checks). */
export const ALGORITHM_OPTIONS: Record<Algorithm, readonly string[]> = {
  logistic: Object.keys(LogisticParamsSchema.shape),
  gbdt: Object.keys(GbdtParamsSchema.shape),
};

/**
 * Validates an algorithm name and its options (strings from the CLI are coerced), filling
 * defaults. Unknown algorithms or options and out-of-range values throw InvalidParameterError
 * naming the option and what is allowed.
 *
 * @example
 * parseAlgorithmParams('gbdt', { learningRate: '0.05' });
 */
export function parseAlgorithmParams(
  algorithm: string,
  raw: Readonly<Record<string, unknown>>,
): ParsedParams {
  if (!(ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new InvalidParameterError(`Unknown algorithm '${algorithm}'; use one of: ${ALGORITHMS.join(', ')}`);
  }
  const alg = algorithm as Algorithm;
  const schema = alg === 'logistic' ? LogisticParamsSchema : GbdtParamsSchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw new InvalidParameterError(
        `Unknown ${alg} option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}; known options: ${ALGORITHM_OPTIONS[alg].join(', ')}`,
      );
    }
    throw new InvalidParameterError(`Invalid ${alg} option '${issue.path.join('.')}': ${issue.message}`);
  }
  if (alg === 'logistic') return { algorithm: 'logistic', params: parsed.data as LogisticParams };
  const g = parsed.data as z.infer<typeof GbdtParamsSchema>;
  const { earlyStopping, validationFraction, maxDepth, ...rest } = g;
  return {
    algorithm: 'gbdt',
    params: { ...rest, maxDepth: maxDepth ?? Number.POSITIVE_INFINITY },
    earlyStopping,
    validationFraction,
  };
}
