import {
  InvokeEndpointCommand,
  type InvokeEndpointCommandOutput,
  ModelError,
  type SageMakerRuntimeClient,
  ServiceUnavailable,
} from '@aws-sdk/client-sagemaker-runtime';
import type { Tensor } from 'onnxruntime-node';
import { MlopsError } from '../../platform/errors';
import type { Scorer, ScorerFactory } from '../inference/session';
import { kserveRequest, tensorsFromV2 } from './kserve';

/** Which production variant and registered version scored a request (SageMaker chose them). */
export interface AnsweredBy {
  readonly variant: string;
  readonly version: string;
}

// Keyed by the outputs object a run returned: the identity travels with that request's answer.
const answers = new WeakMap<object, AnsweredBy>();

/**
 * The variant and version that produced outputs returned by an endpoint scorer's `run`,
 * or undefined for outputs scored in process.
 *
 * @example
 * const who = answeredBy(await scorer.run(feeds, ['probabilities'])); // { variant: 'green', version: '4' }
 */
export function answeredBy(outputs: Readonly<Record<string, Tensor>>): AnsweredBy | undefined {
  return answers.get(outputs);
}

/** Names the endpoint failure for the caller; never the caller's mistake (the front validated it). */
export class EndpointError extends MlopsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TEMPORARILY_UNAVAILABLE', message, options);
  }
}

/**
 * A ScorerFactory whose scorer sends the feeds to a SageMaker endpoint (`InvokeEndpoint`,
 * KServe v2 JSON, which Triton serves at `/invocations`) instead of a local session. The
 * graph's inputs and outputs come from the model bytes (read with onnxruntime once, then
 * released), so the front checks requests against the same signature and graph as the
 * Lambda backend; the endpoint's production variants choose who scores each request.
 *
 * @example
 * const createScorer = endpointScorerFactory(new SageMakerRuntimeClient({}), 'mlops-prod-serving', inspect);
 */
export function endpointScorerFactory(
  client: SageMakerRuntimeClient,
  endpointName: string,
  describe: (bytes: Uint8Array) => Promise<Pick<Scorer, 'inputs' | 'outputs'>>,
): ScorerFactory {
  return async (bytes) => {
    const { inputs, outputs } = await describe(bytes);
    return {
      inputs,
      outputs,
      async run(feeds, wanted) {
        let res: InvokeEndpointCommandOutput;
        try {
          res = await client.send(
            new InvokeEndpointCommand({
              EndpointName: endpointName,
              ContentType: 'application/json',
              Accept: 'application/json',
              Body: new TextEncoder().encode(JSON.stringify(kserveRequest(feeds, wanted))),
            }),
          );
        } catch (err) {
          if (err instanceof ModelError) {
            throw new EndpointError(
              `endpoint '${endpointName}' failed to score the request: the model container answered ${err.OriginalStatusCode ?? 'an error'}: ${err.OriginalMessage ?? err.message}`,
              { cause: err },
            );
          }
          if (err instanceof ServiceUnavailable) {
            throw new EndpointError(`endpoint '${endpointName}' is unavailable: ${err.message}`, {
              cause: err,
            });
          }
          throw err;
        }
        let body: { model_version?: unknown; outputs?: unknown };
        try {
          body = JSON.parse(new TextDecoder().decode(res.Body ?? new Uint8Array()));
        } catch {
          throw new EndpointError(`endpoint '${endpointName}' answered something that is not JSON`);
        }
        const out = tensorsFromV2(body.outputs);
        for (const name of wanted) {
          if (!out[name])
            throw new EndpointError(`endpoint '${endpointName}' answered without output '${name}'`);
        }
        answers.set(out, {
          variant: res.InvokedProductionVariant ?? '',
          version: String(body.model_version ?? ''),
        });
        return out;
      },
      release: async () => undefined,
    };
  };
}
