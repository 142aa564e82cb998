import { stringify as toYaml } from 'yaml';
import { buildBaselineProfile } from '../../monitoring/profile/baseline-profile';
import type { ModelSignature } from '../../serving/inference/signature';
import type { Evaluation } from '../evaluation/evaluate';
import { calibrationSvg, confusionMatrixSvg } from '../plots/svg-plots';
import type { RunRecorder } from '../recording/run-recorder';
import type { PreparedTraining } from './prepare';

/**
 * Logs a model as the registry and serving read it: `model/model.onnx`, its signature, and
 * an MLflow `MLmodel` file with the ONNX flavor (so `runs:/<id>/model` is a model directory).
 *
 * @example
 * await logModelArtifacts(recorder, onnxBytes, signature);
 */
export async function logModelArtifacts(
  recorder: RunRecorder,
  onnx: Uint8Array,
  signature: ModelSignature,
): Promise<void> {
  await recorder.logArtifact('model/model.onnx', onnx, 'application/octet-stream');
  await recorder.logArtifact(
    'model/signature.json',
    `${JSON.stringify(signature, null, 2)}\n`,
    'application/json',
  );
  await recorder.logArtifact(
    'model/MLmodel',
    toYaml({
      artifact_path: 'model',
      flavors: { onnx: { data: 'model.onnx', providers: ['CPUExecutionProvider'] } },
      mlops_signature: signature,
    }),
    'text/yaml',
  );
}

/**
 * Logs a candidate's evaluation: `evaluation/evaluation.json` (the given record), the
 * confusion matrix and calibration plots when the task has them, and the baseline profile
 * of the test rows and predictions that monitoring compares live traffic against
 * (`predictions`: the exported model's scores, the values serving returns).
 *
 * @example
 * await logEvaluationArtifacts(recorder, prep, evaluation, predictions, { split, verdict });
 */
export async function logEvaluationArtifacts(
  recorder: RunRecorder,
  prep: PreparedTraining,
  evaluation: Evaluation,
  predictions: Float64Array,
  record: Record<string, unknown>,
): Promise<void> {
  await recorder.logArtifact(
    'evaluation/evaluation.json',
    `${JSON.stringify(record, null, 2)}\n`,
    'application/json',
  );
  if (evaluation.confusion) {
    await recorder.logArtifact(
      'evaluation/confusion_matrix.svg',
      confusionMatrixSvg(evaluation.confusion, prep.threshold),
      'image/svg+xml',
    );
  }
  if (evaluation.calibration) {
    await recorder.logArtifact(
      'evaluation/calibration.svg',
      calibrationSvg(evaluation.calibration),
      'image/svg+xml',
    );
  }
  const profile = buildBaselineProfile(prep.test.data, prep.features, predictions, prep.task);
  await recorder.logArtifact(
    'profile/baseline_profile.json',
    `${JSON.stringify(profile)}\n`,
    'application/json',
  );
}
