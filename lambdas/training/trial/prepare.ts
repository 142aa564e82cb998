import { InvalidParameterError } from '../../platform/errors';
import type { ModelSignature } from '../../serving/inference/signature';
import { type ParsedParams, parseAlgorithmParams } from '../algorithm-params';
import { type Dataset, takeRows } from '../data/dataset';
import { type DesignMatrix, expandEncodings, rawInputs } from '../design/design-matrix';
import {
  type FeatureDef,
  FeatureDefsSchema,
  inferFeatureDefs,
  type ResolvedFeature,
  resolveFeatures,
  withFills,
} from '../design/feature-defs';
import { METRIC_NAMES } from '../evaluation/evaluate';
import {
  DEFAULT_BINARY_RULE,
  DEFAULT_REGRESSION_RULE,
  type PromotionRule,
  PromotionRuleSchema,
} from '../evaluation/promotion-rule';
import { encodeLabel, type Task } from '../labels';
import { sharedFloat64 } from '../parallel/shared-memory';
import { assertKnownParams } from '../search/samplers';
import { DEFAULT_SPACES, type SearchSpace, SearchSpaceSchema } from '../search/search-space';
import type { SearchStrategy } from '../search/trial-search';
import { type Split, splitByColumn, splitByTime } from '../split';

/** Everything `mlops train` (or the pipeline's training step) asks for. */
export interface TrainRequest {
  readonly dataset: Dataset;
  readonly label: string;
  readonly algorithm: string;
  /** Algorithm options (strings are coerced); unknown names are rejected. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Feature definitions; inferred from column types when omitted. */
  readonly features?: readonly FeatureDef[];
  /** A column of `train`/`test` values that replaces the time-based split. */
  readonly splitColumn?: string;
  /** Orders rows for the time-based split (file order when omitted). */
  readonly timeColumn?: string;
  /** Share of the latest rows held out for testing (default 0.2). */
  readonly testFraction?: number;
  /** Decision threshold for accuracy, precision, recall, F1 and the confusion matrix (default 0.5). */
  readonly threshold?: number;
  readonly task?: Task;
  readonly tune?: {
    readonly strategy: SearchStrategy;
    readonly maxTrials: number;
    readonly metric?: string;
    readonly space?: unknown;
    readonly parallelism?: number;
    readonly seed?: number;
  };
  readonly promotionRule?: unknown;
  /** The current Production version, scored on the same test rows. */
  readonly production?: {
    readonly version: string;
    readonly onnx: Uint8Array;
    readonly signature: ModelSignature;
  };
}

/** A validated request with the data split and encoded, ready to train. */
export interface PreparedTraining {
  readonly request: TrainRequest;
  readonly parsed: ParsedParams;
  readonly task: Task;
  readonly classes?: readonly [string, string];
  readonly features: readonly ResolvedFeature[];
  readonly split: Split;
  /** True when the split follows time, so validation hold-outs take the latest training rows. */
  readonly timeOrdered: boolean;
  readonly train: { readonly data: Dataset; readonly X: DesignMatrix; readonly y: Float64Array };
  readonly test: { readonly data: Dataset; readonly X: DesignMatrix; readonly y: Float64Array };
  readonly threshold: number;
  readonly rule: PromotionRule;
  readonly tune?: {
    readonly strategy: SearchStrategy;
    readonly maxTrials: number;
    readonly metric: string;
    readonly space: SearchSpace;
    readonly parallelism: number;
    readonly seed: number;
  };
}

function firstIssue(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  const i = error.issues[0]!;
  return `${i.path.map(String).join('.') || '(root)'}: ${i.message}`;
}

/**
 * Validates a training request and prepares its data, before any run or artifact is written:
 * unknown algorithm or option, missing or constant label, rejected missing feature values, a bad split
 * column or search space all throw InvalidParameterError naming the culprit.
 */
export function prepareTraining(req: TrainRequest): PreparedTraining {
  const parsed = parseAlgorithmParams(req.algorithm, req.options ?? {});
  if (req.dataset.rowCount < 4) {
    throw new InvalidParameterError(
      `The training set has ${req.dataset.rowCount} rows; at least 4 are needed to train and test`,
    );
  }
  const label = encodeLabel(req.dataset, req.label, req.task);
  if (parsed.algorithm === 'logistic' && label.task !== 'binary') {
    throw new InvalidParameterError(
      `Label '${req.label}' has more than two values; logistic regression is binary: use --algorithm gbdt for regression`,
    );
  }
  const threshold = req.threshold ?? 0.5;
  if (!(threshold > 0 && threshold < 1))
    throw new InvalidParameterError(`Threshold ${threshold} must be between 0 and 1`);
  const excluded = [req.label, req.splitColumn, req.timeColumn].filter((c): c is string => c !== undefined);
  let defs: readonly FeatureDef[];
  if (req.features) {
    const parsedDefs = FeatureDefsSchema.safeParse(req.features);
    if (!parsedDefs.success)
      throw new InvalidParameterError(`Invalid feature definitions at ${firstIssue(parsedDefs.error)}`);
    defs = parsedDefs.data;
    const clash = defs.find((d) => excluded.includes(d.name));
    if (clash)
      throw new InvalidParameterError(`Feature '${clash.name}' is also the label, split or time column`);
  } else {
    defs = inferFeatureDefs(req.dataset, excluded);
  }
  const resolved = resolveFeatures(req.dataset, defs, parsed.algorithm === 'logistic' ? 'onehot' : 'ordinal');
  const split = req.splitColumn
    ? splitByColumn(req.dataset, req.splitColumn)
    : splitByTime(req.dataset, req.timeColumn, req.testFraction ?? 0.2);
  const features = withFills(resolved, req.dataset, takeRows(req.dataset, split.train));
  const part = (rows: Uint32Array) => {
    const data = takeRows(req.dataset, rows);
    const X = expandEncodings(rawInputs(data, features), features);
    const y = sharedFloat64(rows.length);
    for (let i = 0; i < rows.length; i++) y[i] = label.y[rows[i]!]!;
    return { data, X, y };
  };
  const train = part(split.train);
  const test = part(split.test);
  if (label.task === 'binary') {
    const pos = train.y.reduce((s, v) => s + v, 0);
    if (pos === 0 || pos === train.y.length) {
      throw new InvalidParameterError(
        `Label '${req.label}' is constant on the training rows; the split leaves only one class to learn`,
      );
    }
  }
  const ruleInput =
    req.promotionRule ?? (label.task === 'binary' ? DEFAULT_BINARY_RULE : DEFAULT_REGRESSION_RULE);
  const rule = PromotionRuleSchema.safeParse(ruleInput);
  if (!rule.success) throw new InvalidParameterError(`Invalid promotion rule at ${firstIssue(rule.error)}`);
  for (const m of [rule.data.metric, ...rule.data.guards.map((g) => g.metric)]) {
    if (!METRIC_NAMES[label.task].includes(m)) {
      throw new InvalidParameterError(
        `Promotion rule metric '${m}' is not a ${label.task} metric (use: ${METRIC_NAMES[label.task].join(', ')})`,
      );
    }
  }
  let tune: PreparedTraining['tune'];
  if (req.tune) {
    const space = SearchSpaceSchema.safeParse(req.tune.space ?? DEFAULT_SPACES[parsed.algorithm]);
    if (!space.success) throw new InvalidParameterError(`Invalid search space at ${firstIssue(space.error)}`);
    assertKnownParams(space.data, Object.keys(parsed.params), parsed.algorithm);
    if (!Number.isInteger(req.tune.maxTrials) || req.tune.maxTrials < 1) {
      throw new InvalidParameterError(
        `Number of trials must be a positive integer (got ${req.tune.maxTrials})`,
      );
    }
    const metric = req.tune.metric ?? rule.data.metric;
    if (!METRIC_NAMES[label.task].includes(metric)) {
      throw new InvalidParameterError(
        `Search metric '${metric}' is not a ${label.task} metric (use: ${METRIC_NAMES[label.task].join(', ')})`,
      );
    }
    if (!['grid', 'random', 'tpe'].includes(req.tune.strategy)) {
      throw new InvalidParameterError(
        `Unknown search strategy '${req.tune.strategy}'; use grid, random or tpe`,
      );
    }
    tune = {
      strategy: req.tune.strategy,
      maxTrials: req.tune.maxTrials,
      metric,
      space: space.data,
      parallelism: Math.max(1, req.tune.parallelism ?? 1),
      seed: req.tune.seed ?? 0,
    };
  }
  return {
    request: req,
    parsed,
    task: label.task,
    classes: label.classes,
    features,
    split,
    timeOrdered: !req.splitColumn,
    train,
    test,
    threshold,
    rule: rule.data,
    tune,
  };
}
