import { execSync } from 'node:child_process';
import middy from '@middy/core';
import { z } from 'zod';
import { buildTrainingSet as buildOnDuckDb, type TrainingSetBuilder } from '../features/offline/training-set';
import { awsClients } from '../platform/aws-clients';
import { baseConfigSchema, loadConfig } from '../platform/config';
import { logger } from '../platform/observability';
import { sigv4Signer } from '../platform/sigv4';
import { mlflowCaller } from '../tracking/client/rest';
import type { TaskEvent } from './contract';
import type { PipelineDeps } from './deps';
import { MlflowPipelineTracking } from './mlflow-tracking';
import { stepTelemetry } from './step-telemetry';
import * as candidate from './steps/candidate';
import * as data from './steps/data';
import * as importing from './steps/import-candidate';
import * as outcome from './steps/outcome';
import * as sagemakerJob from './steps/sagemaker-job';
import * as search from './steps/search';
import * as start from './steps/start-run';

const config = loadConfig(
  baseConfigSchema
    .extend({
      FEATURES_BUCKET: z.string().min(1),
      MLOPS_API_URL: z.url(),
      AWS_REGION: z.string().default('us-east-1'),
      MLOPS_GIT_COMMIT: z.string().optional(),
      /** `true`: sign API calls even locally (`mlops up --auth`). */
      MLOPS_API_SIGV4: z.enum(['true', 'false']).optional(),
      /** Set on the Build Training Set step on AWS: Athena builds training sets there. */
      MLOPS_ATHENA_WORKGROUP: z.string().min(1).optional(),
      MLOPS_FEATURES_DATABASE: z.string().min(1).optional(),
      MLOPS_FEATURES_BUCKET: z.string().min(1).optional(),
    })
    .refine((c) => !c.MLOPS_ATHENA_WORKGROUP || (c.MLOPS_FEATURES_DATABASE && c.MLOPS_FEATURES_BUCKET), {
      message: 'MLOPS_ATHENA_WORKGROUP needs MLOPS_FEATURES_DATABASE and MLOPS_FEATURES_BUCKET',
    }),
);

/**
 * The offline engine: DuckDB over the local store, or Athena on AWS when the step has a
 * workgroup. The Athena and Glue clients load only in the function that uses them.
 */
function trainingSets(): TrainingSetBuilder {
  if (config.MLOPS_LOCAL_S3_ROOT || !config.MLOPS_ATHENA_WORKGROUP) return buildOnDuckDb;
  let athena: Promise<TrainingSetBuilder> | undefined;
  return async (d, req) => {
    athena ??= import('../features/athena/athena-backend').then(
      ({ athenaBackend, athenaSettings, athenaTrainingSets }) => {
        const settings = athenaSettings(true, config);
        if (!settings) throw new Error('Athena settings missing although MLOPS_ATHENA_WORKGROUP is set');
        return athenaTrainingSets(settings, athenaBackend(settings));
      },
    );
    return (await athena)(d, req);
  };
}

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
    // Locally the gateway needs no signature unless started with --auth; on AWS the API requires SigV4.
    tracking: new MlflowPipelineTracking(
      mlflowCaller(
        config.MLOPS_API_URL,
        config.MLOPS_LOCAL_S3_ROOT && config.MLOPS_API_SIGV4 !== 'true'
          ? undefined
          : sigv4Signer(config.AWS_REGION),
      ),
    ),
    gitCommit: gitCommit(),
    trainingSets: trainingSets(),
    progress: (m) => logger.info(m),
  };
  return deps;
}

// Loose: a step may get settings fixed at synth time beside the state (Plan Trials' planning, the model signature).
const StepEventSchema = z.looseObject({
  state: z.unknown(),
  execution: z.object({ id: z.string().min(1), name: z.string().min(1) }),
});

/**
 * A Step Functions task handler: checks the event's shape, then runs the step with the
 * function's dependencies; step telemetry is middleware. Errors propagate to the state
 * machine, whose Retry and Catch decide what follows.
 */
function step<S, R>(name: string, fn: (deps: PipelineDeps, event: TaskEvent<S>) => Promise<R>) {
  return middy(async (raw: unknown): Promise<R> => fn(pipelineDeps(), raw as TaskEvent<S>))
    .before((request) => {
      StepEventSchema.parse(request.event);
    })
    .use(stepTelemetry(name, () => pipelineDeps().tracking));
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
