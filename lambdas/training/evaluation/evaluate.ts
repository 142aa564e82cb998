import type { Task } from '../labels';
import {
  binaryMetrics,
  type CalibrationBin,
  type ConfusionMatrix,
  calibrationTable,
  confusionMatrix,
  regressionMetrics,
} from './metrics';

/** Metric names per task, for validating a search metric or a promotion rule. */
export const METRIC_NAMES: Record<Task, readonly string[]> = {
  binary: ['auc', 'log_loss', 'accuracy', 'precision', 'recall', 'f1', 'brier'],
  regression: ['rmse', 'mae', 'r2'],
};

export interface Evaluation {
  readonly metrics: Record<string, number>;
  readonly confusion?: ConfusionMatrix;
  readonly calibration?: CalibrationBin[];
}

/**
 * Scores predictions against the truth: every binary metric plus the confusion matrix and
 * calibration table, or the regression metrics.
 */
export function evaluatePredictions(
  task: Task,
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
): Evaluation {
  if (task === 'regression') return { metrics: { ...regressionMetrics(y, p) } };
  return {
    metrics: { ...binaryMetrics(y, p, threshold) },
    confusion: confusionMatrix(y, p, threshold),
    calibration: calibrationTable(y, p),
  };
}
