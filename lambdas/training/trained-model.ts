import type { ModelSignature } from '../serving/inference/signature';
import type { ParsedParams } from './algorithm-params';
import type { DesignMatrix } from './design/design-matrix';
import type { ResolvedFeature } from './design/feature-defs';
import { exportGbdtOnnx } from './gbdt/export-onnx';
import { predictGbdt, trainGbdt } from './gbdt/gbdt';
import type { Task } from './labels';
import { exportLogisticOnnx, MODEL_INPUT } from './logistic/export-onnx';
import { predictLogistic, trainLogistic } from './logistic/logistic-regression';

/** A fitted built-in model behind one shape, whichever algorithm made it. */
export interface TrainedModel {
  readonly algorithm: 'logistic' | 'gbdt';
  readonly task: Task;
  readonly iterations: number;
  /** P(y = 1) (binary) or the value (regression), from expanded columns. */
  predict(X: DesignMatrix): Float64Array;
  exportOnnx(): Uint8Array;
  /** Gain per column (trees) or the standardized coefficient (logistic). */
  importances(): { feature: string; value: number }[];
  readonly importanceKind: 'gain' | 'standardized_coefficient';
}

/** Reports one per-iteration metric. */
export type IterationSink = (key: string, value: number, step: number) => void;

/**
 * Fits the chosen algorithm on expanded columns. Validation rows (gbdt) drive early stopping.
 *
 * @example
 * const model = fitModel(parsed, 'binary', features, X, y, undefined, (k, v, s) => metrics.push({ k, v, s }));
 */
export function fitModel(
  parsed: ParsedParams,
  task: Task,
  features: readonly ResolvedFeature[],
  X: DesignMatrix,
  y: Float64Array,
  validation: { X: DesignMatrix; y: Float64Array } | undefined,
  onIteration: IterationSink,
): TrainedModel {
  if (parsed.algorithm === 'logistic') {
    const m = trainLogistic(X, y, parsed.params, (i, v) => onIteration('train_objective', v, i));
    return {
      algorithm: 'logistic',
      task,
      iterations: m.iterations,
      predict: (Xp) => predictLogistic(m, Xp),
      exportOnnx: () => exportLogisticOnnx(m, features),
      importances: () => m.names.map((feature, j) => ({ feature, value: m.standardizedWeights[j]! })),
      importanceKind: 'standardized_coefficient',
    };
  }
  const m = trainGbdt(X, y, task, parsed.params, validation, (p) => {
    onIteration('train_loss', p.trainLoss, p.iteration);
    if (p.validationLoss !== undefined) onIteration('validation_loss', p.validationLoss, p.iteration);
  });
  let total = 0;
  for (const g of m.gain) total += g;
  return {
    algorithm: 'gbdt',
    task,
    iterations: m.trees.length,
    predict: (Xp) => predictGbdt(m, Xp),
    exportOnnx: () => exportGbdtOnnx(m, features),
    importances: () => m.names.map((feature, j) => ({ feature, value: total > 0 ? m.gain[j]! / total : 0 })),
    importanceKind: 'gain',
  };
}

/** The signature of a built-in model: features in order into the double `features` tensor. */
export function builtInSignature(features: readonly ResolvedFeature[], task: Task): ModelSignature {
  return {
    tensorInput: { name: MODEL_INPUT, elementType: 'double' },
    inputs: features.map((f) =>
      f.type === 'categorical'
        ? { name: f.name, type: 'categorical' as const, categories: [...f.categories] }
        : { name: f.name, type: 'double' as const, ...(f.fill !== undefined ? { nullable: true } : {}) },
    ),
    outputs:
      task === 'binary'
        ? [
            { name: 'probabilities', meaning: 'probability', description: 'P(class 0), P(class 1) per row' },
            { name: 'label', meaning: 'label', description: '1 when P(class 1) > 0.5' },
          ]
        : [{ name: 'prediction', meaning: 'regression' }],
  };
}
