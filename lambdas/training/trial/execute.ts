import { InvalidParameterError, MlopsError } from '../../platform/errors';
import { scoreOnnx } from '../../serving/inference/score-onnx';
import type { ModelSignature } from '../../serving/inference/signature';
import { type ParsedParams, parseAlgorithmParams } from '../algorithm-params';
import type { DesignMatrix } from '../design/design-matrix';
import { type Evaluation, evaluatePredictions } from '../evaluation/evaluate';
import { decidePromotion, type PromotionVerdict } from '../evaluation/promotion-rule';
import { importanceSvg } from '../plots/svg-plots';
import type { RunRecorder } from '../recording/run-recorder';
import { runSearch, type TrialResult } from '../search/trial-search';
import { holdOut } from '../split';
import { builtInSignature, fitModel, type TrainedModel } from '../trained-model';
import { logEvaluationArtifacts, logModelArtifacts } from './candidate-artifacts';
import type { PreparedTraining } from './prepare';

/** What a training run produced; the CLI prints it. */
export interface TrainOutcome {
  readonly runId: string;
  readonly algorithm: string;
  readonly task: string;
  readonly testMetrics: Record<string, number>;
  readonly productionMetrics?: Record<string, number>;
  readonly verdict: PromotionVerdict;
  readonly iterations: number;
  /** Largest |ONNX - in-memory| prediction difference over the test rows. */
  readonly onnxMaxAbsDiff: number;
  readonly bestTrial?: TrialResult;
}

/** Largest ONNX-vs-memory difference a run accepts; beyond it the export is wrong. */
export const ONNX_PARITY_TOLERANCE = 1e-6;

function selectRows(X: DesignMatrix, rows: Uint32Array): DesignMatrix {
  return {
    names: X.names,
    rows: rows.length,
    columns: X.columns.map((c) => Float64Array.from(rows, (r) => c[r]!)),
  };
}

function earlyStops(
  parsed: ParsedParams,
  rows: number,
): parsed is Extract<ParsedParams, { algorithm: 'gbdt' }> {
  return (
    parsed.algorithm === 'gbdt' &&
    (parsed.earlyStopping === 'true' || (parsed.earlyStopping === 'auto' && rows > 10_000))
  );
}

/** Fits on the training rows, holding some out for early stopping when the params ask for it. */
function fitOnTrain(
  prep: PreparedTraining,
  parsed: ParsedParams,
  X: DesignMatrix,
  y: Float64Array,
  sink: (k: string, v: number, s: number) => void,
): TrainedModel {
  if (!earlyStops(parsed, X.rows)) return fitModel(parsed, prep.task, prep.features, X, y, undefined, sink);
  const all = Uint32Array.from({ length: X.rows }, (_, i) => i);
  const { fit, validation } = holdOut(all, parsed.validationFraction, prep.timeOrdered, parsed.params.seed);
  return fitModel(
    parsed,
    prep.task,
    prep.features,
    selectRows(X, fit),
    Float64Array.from(fit, (r) => y[r]!),
    { X: selectRows(X, validation), y: Float64Array.from(validation, (r) => y[r]!) },
    sink,
  );
}

const holdOuts = new WeakMap<PreparedTraining, Map<number, ReturnType<typeof holdOut>>>();

/**
 * Fits one search trial's parameters on the fit part of the training rows and scores it on
 * the validation hold-out (never the test rows). Trials are independent of each other, so
 * the pipeline runs them in parallel (a Map state), and the same seed gives the same split.
 *
 * @example
 * const metrics = scoreTrial(prepareTraining(request), { learning_rate: 0.1 }, 7);
 */
export function scoreTrial(
  prep: PreparedTraining,
  params: Readonly<Record<string, string | number | boolean>>,
  seed: number,
): Record<string, number> {
  let bySeed = holdOuts.get(prep);
  if (!bySeed) {
    bySeed = new Map();
    holdOuts.set(prep, bySeed);
  }
  let split = bySeed.get(seed);
  if (!split) {
    const all = Uint32Array.from({ length: prep.train.X.rows }, (_, i) => i);
    split = holdOut(all, 0.2, prep.timeOrdered, seed);
    bySeed.set(seed, split);
  }
  const { fit, validation } = split;
  const trialParsed = parseAlgorithmParams(prep.parsed.algorithm, { ...prep.request.options, ...params });
  const model = fitModel(
    trialParsed,
    prep.task,
    prep.features,
    selectRows(prep.train.X, fit),
    Float64Array.from(fit, (r) => prep.train.y[r]!),
    undefined,
    () => undefined,
  );
  const Xval = selectRows(prep.train.X, validation);
  const yval = Float64Array.from(validation, (r) => prep.train.y[r]!);
  return evaluatePredictions(prep.task, yval, model.predict(Xval), prep.threshold).metrics;
}

/** A model version to compare against: its ONNX bytes and signature. */
export interface ProductionModel {
  readonly version: string;
  readonly onnx: Uint8Array;
  readonly signature: ModelSignature;
}

/**
 * Scores the current Production version on the same test rows as the candidate and applies
 * the promotion rule; with no Production version the rule decides on the candidate alone.
 * So it does when the Production version cannot score these rows (a column it needs is
 * gone, or has gaps it does not fill): the data changed under it, so the comparison is
 * skipped, and the verdict says why (the candidate still goes only to Staging).
 *
 * @example
 * const { verdict } = await compareWithProduction(prep, candidateMetrics, production);
 */
export async function compareWithProduction(
  prep: PreparedTraining,
  candidateMetrics: Record<string, number>,
  production: ProductionModel | undefined,
): Promise<{ production?: Evaluation; verdict: PromotionVerdict; notCompared?: string }> {
  if (!production) return { verdict: decidePromotion(prep.rule, candidateMetrics, undefined) };
  let p: Float64Array;
  try {
    p = await scoreOnnx(production.onnx, production.signature, prep.test.data);
  } catch (err) {
    if (!(err instanceof InvalidParameterError)) throw err;
    const notCompared = `Production version ${production.version} cannot score the test rows, so it was not compared: ${err.message}`;
    return { verdict: decidePromotion(prep.rule, candidateMetrics, undefined, notCompared), notCompared };
  }
  const evaluated = evaluatePredictions(prep.task, prep.test.y, p, prep.threshold);
  return { production: evaluated, verdict: decidePromotion(prep.rule, candidateMetrics, evaluated.metrics) };
}

/**
 * Runs a prepared training: optional hyperparameter search (one child run per trial, scored
 * on a validation hold-out of the training rows), the final fit, evaluation on the test rows
 * next to the Production version, the promotion verdict, and the artifacts: ONNX model with
 * its signature (checked against the in-memory model on every test row), evaluation JSON and
 * SVG plots, feature importances and the baseline profile.
 *
 * @example
 * const outcome = await executeTraining(prepareTraining(request), await FsRunRecorder.start(root, 'train'));
 */
export async function executeTraining(
  prep: PreparedTraining,
  recorder: RunRecorder,
  progress: (message: string) => void = () => undefined,
): Promise<TrainOutcome> {
  const req = prep.request;
  try {
    let parsed = prep.parsed;
    await recorder.setTags({ 'mlops.task': prep.task, 'mlops.algorithm': parsed.algorithm });
    let bestTrial: TrialResult | undefined;
    if (prep.tune) {
      const tune = prep.tune;
      progress(`search: ${tune.strategy}, ${tune.maxTrials} trials by ${tune.metric}`);
      const result = await runSearch({ ...tune }, async (params, index) => {
        const child = await recorder.startChildRun(`trial-${index}`);
        const metrics = scoreTrial(prep, params, tune.seed);
        await child.logParams({ ...params, trial: index });
        for (const [k, v] of Object.entries(metrics)) await child.logMetric(`validation_${k}`, v);
        await child.end('FINISHED');
        progress(`trial ${index}: ${tune.metric}=${metrics[tune.metric]?.toFixed(5)}`);
        return metrics;
      });
      bestTrial = result.best;
      parsed = parseAlgorithmParams(parsed.algorithm, { ...req.options, ...result.best.params });
      await recorder.setTags({
        'mlops.search.best_trial': String(result.best.index),
        'mlops.search.metric': tune.metric,
      });
      await recorder.logParams({
        'search.strategy': tune.strategy,
        'search.trials': result.trials.length,
        'search.seed': tune.seed,
      });
    }
    await recorder.logParams({
      algorithm: parsed.algorithm,
      label: req.label,
      task: prep.task,
      split: prep.split.description,
      train_rows: prep.train.X.rows,
      test_rows: prep.test.X.rows,
      features: prep.features.map((f) => f.name).join(','),
      threshold: prep.threshold,
      ...Object.fromEntries(Object.entries(parsed.params).map(([k, v]) => [k, String(v)])),
    });
    progress(
      `training ${parsed.algorithm} on ${prep.train.X.rows} rows × ${prep.train.X.columns.length} columns`,
    );
    const curve: { key: string; value: number; step: number }[] = [];
    const model = fitOnTrain(prep, parsed, prep.train.X, prep.train.y, (key, value, step) =>
      curve.push({ key, value, step }),
    );
    for (const c of curve) await recorder.logMetric(c.key, c.value, c.step);
    const predictions = model.predict(prep.test.X);
    const evaluation = evaluatePredictions(prep.task, prep.test.y, predictions, prep.threshold);
    for (const [k, v] of Object.entries(evaluation.metrics)) await recorder.logMetric(`test_${k}`, v);

    const onnx = model.exportOnnx();
    const signature = builtInSignature(prep.features, prep.task);
    const onnxPredictions = await scoreOnnx(onnx, signature, prep.test.data);
    let onnxMaxAbsDiff = 0;
    for (let i = 0; i < predictions.length; i++) {
      onnxMaxAbsDiff = Math.max(onnxMaxAbsDiff, Math.abs(onnxPredictions[i]! - predictions[i]!));
    }
    await recorder.logMetric('onnx_max_abs_diff', onnxMaxAbsDiff);
    if (!(onnxMaxAbsDiff <= ONNX_PARITY_TOLERANCE)) {
      throw new MlopsError(
        'INTERNAL_ERROR',
        `Exported ONNX model differs from the trained model by ${onnxMaxAbsDiff} on the test set`,
      );
    }

    const { production, verdict } = await compareWithProduction(prep, evaluation.metrics, req.production);
    if (production) {
      for (const [k, v] of Object.entries(production.metrics)) await recorder.logMetric(`production_${k}`, v);
    }
    await recorder.setTags({ 'mlops.promotion': verdict.promote ? 'promote' : 'reject' });

    const importances = model.importances();
    await logModelArtifacts(recorder, onnx, signature);
    await recorder.logArtifact(
      'evaluation/feature_importance.svg',
      importanceSvg(importances, model.importanceKind),
      'image/svg+xml',
    );
    // The baseline profile is of the exported model's scores, as serving logs them (float32
    // for the built-in exports): monitoring compares live predictions with these values.
    await logEvaluationArtifacts(recorder, prep, evaluation, onnxPredictions, {
      split: prep.split.description,
      threshold: prep.threshold,
      candidate: evaluation,
      production: production ? { version: req.production?.version, ...production } : null,
      rule: prep.rule,
      verdict: { promote: verdict.promote, reasons: verdict.reasons },
      feature_importance: { kind: model.importanceKind, values: importances },
      classes: prep.classes ?? null,
      onnx_max_abs_diff: onnxMaxAbsDiff,
    });
    await recorder.end('FINISHED');
    return {
      runId: recorder.runId,
      algorithm: parsed.algorithm,
      task: prep.task,
      testMetrics: evaluation.metrics,
      productionMetrics: production?.metrics,
      verdict,
      iterations: model.iterations,
      onnxMaxAbsDiff,
      bestTrial,
    };
  } catch (err) {
    await recorder.end('FAILED').catch(() => undefined);
    throw err;
  }
}
