import { BadRequestError, InvalidParameterError, NotFoundError } from '../../platform/errors';
import { checkSignature, inspectOnnxModel } from '../../serving/inference/inspect';
import { scoreOnnx } from '../../serving/inference/score-onnx';
import type { ModelSignature } from '../../serving/inference/signature';
import { type Evaluation, evaluatePredictions } from '../../training/evaluation/evaluate';
import type { RunRecorder } from '../../training/recording/run-recorder';
import { logEvaluationArtifacts, logModelArtifacts } from '../../training/trial/candidate-artifacts';
import { compareWithProduction } from '../../training/trial/execute';
import type { PreparedTraining } from '../../training/trial/prepare';
import type { CandidateRef, PipelineState, TaskEvent, TrainingSetRef } from '../contract';
import type { PipelineDeps } from '../deps';
import { extractFromTarGz } from '../model-archive';
import { MODELS_PREFIX } from './sagemaker-job';
import { prepareFromInput, readTrainingSet } from './training-request';

/** The import step's event: the state, and the signature configured at synth time (JSON). */
export type ImportEvent = TaskEvent<PipelineState> & { readonly signature?: unknown };

/** Splits `s3://bucket/key`, insisting on the features bucket's `models/` prefix (all the step may read). */
function modelLocation(deps: PipelineDeps, uri: string): string {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m || m[1] !== deps.bucket || !(m[2] as string).startsWith(MODELS_PREFIX)) {
    throw new BadRequestError(
      `The training job's model '${uri}' is not under s3://${deps.bucket}/${MODELS_PREFIX}; ` +
        "keep the job's OutputDataConfig as the pipeline sets it",
    );
  }
  return m[2] as string;
}

/**
 * The ONNX bytes of a job's output: `model.onnx` out of `model.tar.gz` (what SageMaker
 * uploads from /opt/ml/model), or the `.onnx` object itself.
 */
export async function readJobModel(deps: PipelineDeps, uri: string): Promise<Uint8Array> {
  const key = modelLocation(deps, uri);
  const bytes = await deps.store.get(deps.bucket, key);
  if (!bytes) throw new NotFoundError(`The training job wrote no model at '${uri}'`);
  if (key.endsWith('.onnx')) return bytes;
  if (key.endsWith('.tar.gz')) return extractFromTarGz(bytes, 'model.onnx');
  throw new InvalidParameterError(`The training job's model '${uri}' is neither a .tar.gz nor a .onnx file`);
}

/** Checks the model against the configured signature, and the signature against the training set. */
async function checkedSignature(
  onnx: Uint8Array,
  signature: unknown,
  ref: TrainingSetRef,
): Promise<ModelSignature> {
  const parsed = typeof signature === 'string' ? (JSON.parse(signature) as unknown) : signature;
  const inspection = await inspectOnnxModel(onnx).catch((err: Error) => {
    throw new InvalidParameterError(`The training job's model.onnx was rejected: ${err.message}`);
  });
  const sig = checkSignature(parsed, inspection);
  const features = new Set(ref.featureColumns);
  for (const input of sig.inputs) {
    if (!features.has(input.name)) {
      throw new InvalidParameterError(
        `Signature input '${input.name}' is not a feature of the training set (features: ${ref.featureColumns.join(', ')}); ` +
          'fix pipeline.trainer.signature or the feature service',
      );
    }
  }
  return sig;
}

/** Scores the test rows and insists on a number for every row. */
async function scoreTestRows(
  onnx: Uint8Array,
  sig: ModelSignature,
  prep: PreparedTraining,
): Promise<{ evaluation: Evaluation; predictions: Float64Array }> {
  const predictions = await scoreOnnx(onnx, sig, prep.test.data);
  const bad = predictions.findIndex((p) => !Number.isFinite(p));
  if (bad !== -1) {
    throw new InvalidParameterError(
      `The training job's model returned ${predictions[bad]} for test row ${bad + 1}; it must return a number for every row`,
    );
  }
  return {
    evaluation: evaluatePredictions(prep.task, prep.test.y, predictions, prep.threshold),
    predictions,
  };
}

/**
 * Imports the SageMaker job's model as the candidate: reads `model.onnx` from the job's
 * output, checks it loads in onnxruntime-node with tensor outputs (a ZipMap is refused with
 * how to re-export) and matches the configured signature, scores it on the same test rows
 * as the built-in trainers, and records on the pipeline's run what the built-in path does
 * (test metrics, `model/`, `evaluation/evaluation.json`, `profile/baseline_profile.json`),
 * so Evaluate Candidate, the Choice and Register Candidate work unchanged. Everything is
 * checked before the first artifact is written.
 */
export async function importCandidate(deps: PipelineDeps, event: ImportEvent): Promise<CandidateRef> {
  const { input, run, trainingSet, trainingJob, trainedJob, plan } = event.state;
  if (!trainingSet || !trainingJob || !trainedJob || !plan) {
    throw new Error('importCandidate needs the training set, the job request and the finished job');
  }
  if (event.signature === undefined) throw new Error('importCandidate needs the configured signature');
  const onnx = await readJobModel(deps, trainedJob.modelArtifacts);
  const signature = await checkedSignature(onnx, event.signature, trainingSet);
  const { dataset } = await readTrainingSet(deps, trainingSet);
  const prep = prepareFromInput(dataset, input, trainingSet, {});
  const { evaluation, predictions } = await scoreTestRows(onnx, signature, prep);
  const { verdict } = await compareWithProduction(prep, evaluation.metrics, undefined);
  const recorder = deps.tracking.recorder(run.runId, run.experimentId);
  await recordCandidate(recorder, {
    prep,
    onnx,
    signature,
    evaluation,
    predictions,
    verdict,
    job: { name: trainedJob.jobName, image: trainedJob.image, hyperparameters: trainingJob.hyperparameters },
    search: { bestTrial: trainingJob.bestTrial, metric: plan.metric },
  });
  return {
    runId: run.runId,
    testMetrics: evaluation.metrics,
    bestTrial: trainingJob.bestTrial,
    params: trainingJob.params,
  };
}

interface CandidateRecord {
  readonly prep: PreparedTraining;
  readonly onnx: Uint8Array;
  readonly signature: ModelSignature;
  readonly evaluation: Evaluation;
  readonly predictions: Float64Array;
  readonly verdict: { readonly promote: boolean; readonly reasons: readonly string[] };
  readonly job: {
    readonly name: string;
    readonly image?: string;
    readonly hyperparameters: Record<string, string>;
  };
  readonly search: { readonly bestTrial: number; readonly metric: string };
}

/** Writes the candidate to the run with the names and shapes `executeTraining` uses. */
async function recordCandidate(recorder: RunRecorder, c: CandidateRecord): Promise<void> {
  const { prep, evaluation } = c;
  await recorder.setTags({
    'mlops.task': prep.task,
    'mlops.algorithm': 'sagemaker',
    'mlops.trainer': 'sagemaker',
    'mlops.sagemaker.job': c.job.name,
    'mlops.search.best_trial': String(c.search.bestTrial),
    'mlops.search.metric': c.search.metric,
    ...(c.job.image ? { 'mlops.sagemaker.image': c.job.image } : {}),
  });
  await recorder.logParams({
    ...c.job.hyperparameters,
    algorithm: 'sagemaker',
    label: prep.request.label,
    task: prep.task,
    split: prep.split.description,
    train_rows: prep.train.X.rows,
    test_rows: prep.test.X.rows,
    features: c.signature.inputs.map((i) => i.name).join(','),
    threshold: prep.threshold,
    'sagemaker.job': c.job.name,
  });
  for (const [k, v] of Object.entries(evaluation.metrics)) await recorder.logMetric(`test_${k}`, v);
  await logModelArtifacts(recorder, c.onnx, c.signature);
  await logEvaluationArtifacts(recorder, prep, evaluation, c.predictions, {
    split: prep.split.description,
    threshold: prep.threshold,
    candidate: evaluation,
    production: null,
    rule: prep.rule,
    verdict: { promote: c.verdict.promote, reasons: c.verdict.reasons },
    feature_importance: null,
    classes: prep.classes ?? null,
    onnx_max_abs_diff: null,
    trainer: { kind: 'sagemaker', job: c.job.name, image: c.job.image ?? null },
  });
}
