import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ScorerFactory } from '../inference/session';
import { createOnnxScorer } from '../inference/session';
import { answeredBy, endpointScorerFactory } from './endpoint-scorer';

/**
 * The predict function as a front of a SageMaker endpoint (`servingBackend: 'sagemaker'`),
 * when the construct set `SAGEMAKER_ENDPOINT`: the same routes, validation and prediction
 * log, with the model call sent to the endpoint. Undefined on the Lambda backend.
 *
 * @example
 * const front = sageMakerFront(process.env);
 * const createScorer = front?.createScorer ?? createOnnxScorer;
 */
export function sageMakerFront(env: NodeJS.ProcessEnv):
  | {
      readonly endpointName: string;
      readonly createScorer: ScorerFactory;
      readonly answeredBy: typeof answeredBy;
    }
  | undefined {
  const endpointName = env.SAGEMAKER_ENDPOINT;
  if (!endpointName) return undefined;
  const endpoint = env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME || env.AWS_ENDPOINT_URL || undefined;
  const client = new SageMakerRuntimeClient({
    region: env.AWS_REGION || 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    // The endpoint's model errors are answers, not throttling: one retry for a network blip.
    maxAttempts: 2,
  });
  return {
    endpointName,
    // The graph's inputs and outputs are read from the model bytes once; nothing scores here.
    createScorer: endpointScorerFactory(client, endpointName, async (bytes) => {
      const local = await createOnnxScorer(bytes);
      await local.release();
      return { inputs: local.inputs, outputs: local.outputs };
    }),
    answeredBy,
  };
}
