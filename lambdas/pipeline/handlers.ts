import { execSync } from 'node:child_process';
import middy from '@middy/core';
import { z } from 'zod';
import { athenaSettings } from '../features/athena-backend';
import { awsClients } from '../platform/aws-clients';
import { baseConfigSchema, loadConfig } from '../platform/config';
import { logger } from '../platform/observability';
import { sigv4Signer } from '../platform/sigv4';
import { mlflowCaller } from '../tracking/client/rest';
import type { TaskEvent } from './contract';
import type { PipelineDeps } from './deps';
import { MlflowPipelineTracking } from './mlflow-tracking';
import * as candidate from './steps/candidate';
import * as data from './steps/data';
import * as importing from './steps/import-candidate';
import * as outcome from './steps/outcome';
import * as sagemakerJob from './steps/sagemaker-job';
import * as search from './steps/search';
import * as start from './steps/start-run';

const config = loadConfig(
  baseConfigSchema.extend({
    FEATURES_BUCKET: z.string().min(1),
    MLOPS_API_URL: z.url(),
    AWS_REGION: z.string().default('us-east-1'),
    MLOPS_GIT_COMMIT: z.string().optional(),
  }),
);

function gitCommit(): string | undefined {
  if (config.MLOPS_GIT_COMMIT) return config.MLOPS_GIT_COMMIT;
  if (!config.MLOPS_LOCAL_S3_ROOT) return undefined;
  try {
    return execSync('git rev-parse HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

let deps: PipelineDeps | undefined;
function pipelineDeps(): PipelineDeps {
  deps ??= {
    store: awsClients().objectStore,
    bucket: config.FEATURES_BUCKET,
    // Locally the gateway needs no signature; on AWS the API requires SigV4.
    tracking: new MlflowPipelineTracking(
      mlflowCaller(
        config.MLOPS_API_URL,
        config.MLOPS_LOCAL_S3_ROOT ? undefined : sigv4Signer(config.AWS_REGION),
      ),
    ),
    gitCommit: gitCommit(),
    // Locally DuckDB builds training sets; on AWS, Athena (when the function has a workgroup).
    athena: config.MLOPS_LOCAL_S3_ROOT ? undefined : athenaSettings(undefined),
    progress: (m) => logger.info(m),
  };
  return deps;
}

// Loose: a step may get settings fixed at synth time beside the state (Plan Trials' planning, the model signature).
const StepEventSchema = z.looseObject({
  state: z.unknown(),
  execution: z.object({ id: z.string().min(1), name: z.string().min(1) }),
});

type RunRefLike = { run?: { runId: string; experimentId: string } } | null | undefined;

/**
 * A Step Functions task handler: checks the event's shape, runs the step, and records
 * the step's duration and outcome on the pipeline's run. Errors propagate to the state
 * machine, whose Retry and Catch decide what follows.
 */
function step<S, R>(name: string, fn: (deps: PipelineDeps, event: TaskEvent<S>) => Promise<R>) {
  return middy(async (raw: unknown): Promise<R> => {
    const event = StepEventSchema.parse(raw) as TaskEvent<S>;
    const d = pipelineDeps();
    const started = performance.now();
    let result: R | undefined;
    let status = 'succeeded';
    try {
      result = await fn(d, event);
      return result;
    } catch (err) {
      status = 'failed';
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      logger.info('step', { step: name, outcome: status, seconds, execution: event.execution.name });
      // The first step opens the run: its reference is in its result, not its input.
      const run = (event.state as RunRefLike)?.run ?? (result as RunRefLike)?.run;
      if (run) {
        const rec = d.tracking.recorder(run.runId, run.experimentId);
        await Promise.all([
          rec.logMetric(`step_seconds.${name}`, seconds),
          rec.setTags({ [`mlops.step.${name}`]: status }),
        ]).catch((e) => logger.warn('could not record the step on the run', { error: String(e) }));
      }
    }
  });
}

export const startRun = step('startRun', start.startRun);
export const validateData = step('validateData', data.validateData);
export const buildTrainingSet = step('buildTrainingSet', data.buildPipelineTrainingSet);
export const planTrials = step('planTrials', search.planTrials);
export const runTrial = step('runTrial', search.runTrial);
export const trainCandidate = step('trainCandidate', candidate.trainCandidate);
export const prepareTrainingJob = step('prepareTrainingJob', sagemakerJob.prepareTrainingJob);
export const importCandidate = step('importCandidate', importing.importCandidate);
export const evaluateCandidate = step('evaluateCandidate', candidate.evaluateCandidate);
export const registerCandidate = step('registerCandidate', outcome.registerCandidate);
export const recordRejection = step('recordRejection', outcome.recordRejection);
export const markFailed = step('markFailed', outcome.markFailed);
