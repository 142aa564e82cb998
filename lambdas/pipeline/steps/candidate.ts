import type { ModelSignature } from '../../serving/inference/signature';
import type { RunRecorder } from '../../training/recording/run-recorder';
import { compareWithProduction, executeTraining } from '../../training/trial/execute';
import type { CandidateRef, PipelineState, TaskEvent, Verdict } from '../contract';
import type { PipelineDeps } from '../deps';
import { bestTrial, trialOutcomes } from './search';
import { prepareFromInput, readTrainingSet } from './training-request';

/** Keeps the parent run open: the pipeline ends it when the whole execution is decided. */
function keepOpen(r: RunRecorder): RunRecorder {
  return {
    runId: r.runId,
    logParams: (p) => r.logParams(p),
    logMetric: (k, v, s) => r.logMetric(k, v, s),
    setTags: (t) => r.setTags(t),
    logArtifact: (p, b, c) => r.logArtifact(p, b, c),
    startChildRun: (n) => r.startChildRun(n),
    end: async () => undefined,
  };
}

/**
 * Trains the best trial's configuration on all training rows and records it on the
 * pipeline's run: parameters, per-iteration metrics, test metrics, the ONNX model (checked
 * against the in-memory model on every test row), its signature, plots and the baseline
 * profile.
 */
export async function trainCandidate(
  deps: PipelineDeps,
  event: TaskEvent<PipelineState>,
): Promise<CandidateRef> {
  const { input, run, trainingSet, trialResults, plan } = event.state;
  if (!trainingSet || !trialResults || !plan)
    throw new Error('trainCandidate needs the training set and trials');
  const best = bestTrial(await trialOutcomes(deps, trialResults), plan.metric);
  const { dataset } = await readTrainingSet(deps, trainingSet);
  const options = { ...input.training.options, ...best.params };
  const prep = prepareFromInput(dataset, input, trainingSet, options);
  const recorder = keepOpen(deps.tracking.recorder(run.runId, run.experimentId));
  await recorder.setTags({
    'mlops.search.best_trial': String(best.index),
    'mlops.search.metric': plan.metric,
  });
  const outcome = await executeTraining(prep, recorder, deps.progress);
  return { runId: run.runId, testMetrics: outcome.testMetrics, bestTrial: best.index, params: best.params };
}

const decoder = new TextDecoder();

/**
 * Scores the candidate and the current Production version on the same test rows and
 * applies the promotion rule. The verdict, both score sets and the rule are recorded on
 * the run; the Choice state branches on `promote`.
 */
export async function evaluateCandidate(
  deps: PipelineDeps,
  event: TaskEvent<PipelineState>,
): Promise<Verdict> {
  const { input, run, trainingSet, candidate } = event.state;
  if (!trainingSet || !candidate) throw new Error('evaluateCandidate needs the training set and candidate');
  const { dataset } = await readTrainingSet(deps, trainingSet);
  // The test rows, task and rule do not depend on the algorithm's options; a SageMaker
  // candidate's hyperparameters are its container's, which the built-in parser would refuse.
  const prep = prepareFromInput(dataset, input, trainingSet, {});
  const current = await deps.tracking.latestVersion(input.modelName, 'Production');
  const production = current
    ? {
        version: current.version,
        onnx: await deps.tracking.readModelFile(current, 'model.onnx'),
        signature: JSON.parse(
          decoder.decode(await deps.tracking.readModelFile(current, 'signature.json')),
        ) as ModelSignature,
      }
    : undefined;
  const compared = await compareWithProduction(prep, candidate.testMetrics, production);
  const recorder = deps.tracking.recorder(run.runId, run.experimentId);
  if (compared.production) {
    for (const [k, v] of Object.entries(compared.production.metrics))
      await recorder.logMetric(`production_${k}`, v);
  }
  const verdict: Verdict = {
    promote: compared.verdict.promote,
    reasons: compared.verdict.reasons,
    productionVersion: current?.version ?? null,
    candidate: candidate.testMetrics,
    production: compared.production?.metrics ?? null,
  };
  await recorder.setTags({
    'mlops.promotion': verdict.promote ? 'promote' : 'reject',
    'mlops.promotion.reasons': verdict.reasons.join(' | ').slice(0, 5000),
    'mlops.promotion.production_version': verdict.productionVersion ?? 'none',
    ...(compared.notCompared ? { 'mlops.promotion.not_compared': compared.notCompared.slice(0, 5000) } : {}),
  });
  await recorder.logArtifact(
    'evaluation/verdict.json',
    `${JSON.stringify({ ...verdict, rule: prep.rule }, null, 2)}\n`,
    'application/json',
  );
  return verdict;
}
