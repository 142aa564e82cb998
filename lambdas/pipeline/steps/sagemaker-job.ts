import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDbEngine } from '../../features/offline/duckdb-engine';
import { literal } from '../../features/offline/render-sql';
import { InvalidParameterError } from '../../platform/errors';
import type { PipelineState, TaskEvent, TrainingJobRequest, TrialSpec } from '../contract';
import { localFile, type PipelineDeps, scratchDir } from '../deps';
import { bestTrial, trialOutcomes } from './search';
import { prepareFromInput, readTrainingSet } from './training-request';

/** Prefix of the job outputs in the features bucket; the import step reads only there. */
export const MODELS_PREFIX = 'models/';

/** SageMaker's own limits on a job's hyperparameters. */
const MAX_HYPERPARAMETERS = 100;
const MAX_KEY = 256;
const MAX_VALUE = 2500;

/**
 * A training job name for an execution: SageMaker allows 63 letters, digits and dashes and
 * refuses a name twice, so the name keeps a readable part of the execution name and a hash
 * of the whole execution id (unique, and the same when the step is retried).
 *
 * @example
 * trainingJobName('arn:aws:states:...:execution:mlops-dev-training:weekly_2026-07-06', 'weekly_2026-07-06');
 */
export function trainingJobName(executionId: string, executionName: string): string {
  const hash = createHash('sha256').update(executionId).digest('hex').slice(0, 10);
  const slug = executionName
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63 - 'mlops-'.length - hash.length - 1)
    .replace(/-+$/, '');
  return slug ? `mlops-${slug}-${hash}` : `mlops-${hash}`;
}

/** Hyperparameters as SageMaker takes them: strings, within its limits, or an error naming the culprit. */
export function toHyperparameters(
  params: Readonly<Record<string, string | number | boolean>>,
): Record<string, string> {
  const entries = Object.entries(params);
  if (entries.length > MAX_HYPERPARAMETERS) {
    throw new InvalidParameterError(
      `training.options has ${entries.length} entries; a SageMaker job takes at most ${MAX_HYPERPARAMETERS} hyperparameters`,
    );
  }
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    const text = String(value);
    if (key.length > MAX_KEY || text.length > MAX_VALUE) {
      throw new InvalidParameterError(
        `Hyperparameter '${key.slice(0, 60)}' is too long for SageMaker (names up to ${MAX_KEY}, values up to ${MAX_VALUE} characters)`,
      );
    }
    out[key] = text;
  }
  return out;
}

/**
 * Writes the training rows (never the test rows) of a training set to a Parquet file, in
 * file order, keeping the original column types for the container.
 */
async function writeTrainRows(source: string, testRows: Uint32Array, output: string): Promise<void> {
  const engine = await DuckDbEngine.create({ threads: 2 });
  try {
    await engine.run(
      `CREATE TEMP TABLE test_rows AS SELECT unnest([${Array.from(testRows).join(',') || 'NULL'}]::BIGINT[]) AS r`,
    );
    await engine.write(
      `SELECT * EXCLUDE (file_row_number) FROM read_parquet(${literal(source)}, file_row_number = true)
       WHERE file_row_number NOT IN (SELECT r FROM test_rows WHERE r IS NOT NULL) ORDER BY file_row_number`,
      output,
      'parquet',
    );
  } finally {
    engine.close();
  }
}

/**
 * Shapes the SageMaker training job for the candidate: the trial to train (the best of the
 * search, or the one configured trial), a job name unique to the execution, the `train`
 * channel with only the training rows of the same time split the built-in trainers and the
 * import step use (so the test score is on rows the container never saw), and the output
 * prefix under `models/<execution>/`.
 */
export async function prepareTrainingJob(
  deps: PipelineDeps,
  event: TaskEvent<PipelineState>,
): Promise<TrainingJobRequest> {
  const { input, run, trainingSet, plan, trialResults } = event.state;
  if (!trainingSet || !plan) throw new Error('prepareTrainingJob needs the training set and the plan');
  // The best of the search, or the one configured trial (no search, so no results).
  const trial: TrialSpec | undefined = trialResults
    ? bestTrial(await trialOutcomes(deps, trialResults), plan.metric)
    : plan.trials?.[0];
  if (!trial) throw new Error('prepareTrainingJob needs at least one planned trial');
  const params = { ...input.training.options, ...trial.params };
  const hyperparameters = toHyperparameters(params);
  const { dataset } = await readTrainingSet(deps, trainingSet);
  const prep = prepareFromInput(dataset, input, trainingSet, {});
  const output = join(await scratchDir(), 'train.parquet');
  await writeTrainRows(await localFile(deps, trainingSet.key), prep.split.test, output);
  const channel = `${trainingSet.key.slice(0, trainingSet.key.lastIndexOf('/') + 1)}train/`;
  await deps.store.put(deps.bucket, `${channel}train.parquet`, await readFile(output), {
    contentType: 'application/vnd.apache.parquet',
  });
  const jobName = trainingJobName(event.execution.id, event.execution.name);
  await deps.tracking.recorder(run.runId, run.experimentId).setTags({
    'mlops.trainer': 'sagemaker',
    'mlops.sagemaker.job': jobName,
  });
  return {
    jobName,
    trainUri: `s3://${deps.bucket}/${channel}`,
    outputUri: `s3://${deps.bucket}/${MODELS_PREFIX}${event.execution.name}/`,
    hyperparameters,
    bestTrial: trial.index,
    params: trial.params,
    trainRows: prep.split.train.length,
  };
}
