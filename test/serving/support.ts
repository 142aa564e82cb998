import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { ModelSignature } from '../../lambdas/serving/inference/signature';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { createRng } from '../../lambdas/training/random';
import { builtInSignature, fitModel } from '../../lambdas/training/trained-model';
import { prepareTraining } from '../../lambdas/training/trial/prepare';
import { classifierOnnx } from '../support/onnx-fixtures';

export interface TinyModel {
  readonly onnx: Uint8Array;
  readonly signature: ModelSignature;
  /** Rows to score, as JSON records of the signature's features (gaps included). */
  readonly rows: Record<string, number | string | null>[];
}

/**
 * Trains a small model with the built-in trainers on a numeric feature with gaps and a
 * categorical one, so feeding either wrongly changes the predictions.
 */
export function trainTiny(algorithm: 'gbdt' | 'logistic', seed = 7): TinyModel {
  const rng = createRng(seed);
  const n = 400;
  const spend = new Float64Array(n);
  const plan: (string | null)[] = [];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = rng.normal() * 10 + 50;
    const p = ['basic', 'pro', 'team'][rng.int(3)]!;
    spend[i] = rng.next() < 0.1 ? Number.NaN : s;
    plan.push(p);
    y[i] = rng.next() < 1 / (1 + Math.exp(-(0.2 * (s - 50) + (p === 'pro' ? 1.5 : -0.5)))) ? 1 : 0;
  }
  const dataset = datasetOf({ spend, plan, t: Float64Array.from({ length: n }, (_, i) => i), y });
  const prep = prepareTraining({
    dataset,
    label: 'y',
    algorithm,
    timeColumn: 't',
    ...(algorithm === 'gbdt' ? { options: { maxIterations: 20, earlyStopping: 'false' } } : {}),
  });
  const model = fitModel(
    prep.parsed,
    prep.task,
    prep.features,
    prep.train.X,
    prep.train.y,
    undefined,
    () => {},
  );
  const signature = builtInSignature(prep.features, prep.task);
  const rows = [
    { spend: 35, plan: 'basic' },
    { spend: 62.5, plan: 'pro' },
    { spend: null, plan: 'team' },
    { spend: 50, plan: 'unseen-plan' },
    { spend: 71, plan: 'pro' },
  ].map((r) =>
    Object.fromEntries(
      signature.inputs.map((i) => [i.name, (r as Record<string, number | string | null>)[i.name] ?? null]),
    ),
  );
  return { onnx: model.exportOnnx(), signature, rows };
}

/** A bring-your-own model: a scikit-learn-style linear classifier over one packed float tensor. */
export function byoModel(): TinyModel {
  return {
    onnx: classifierOnnx(false),
    signature: {
      tensorInput: { name: 'float_input', elementType: 'float' },
      inputs: [
        { name: 'x1', type: 'float' },
        { name: 'x2', type: 'float' },
      ],
      outputs: [
        { name: 'probability_tensor', meaning: 'probability' },
        { name: 'label', meaning: 'label' },
      ],
    },
    rows: [
      { x1: 0.5, x2: -1 },
      { x1: 2, x2: 3 },
      { x1: -1.25, x2: 0.75 },
    ],
  };
}

/** Calls a proxy handler as API Gateway would for a route. */
export async function invoke(
  handler: (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>,
  method: string,
  resource: string,
  params: Record<string, string>,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
): Promise<{ status: number; json: any; headers: Record<string, unknown> }> {
  let path = resource;
  for (const [k, v] of Object.entries(params)) path = path.replace(`{${k}}`, encodeURIComponent(v));
  const raw = body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body);
  const event = {
    httpMethod: method,
    resource,
    path,
    pathParameters: params,
    headers: raw === null ? { host: 'localhost' } : { 'content-type': 'application/json', host: 'localhost' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    body: raw,
    isBase64Encoded: false,
    requestContext: { requestId: `req-${Math.random().toString(36).slice(2)}` },
  } as unknown as APIGatewayProxyEvent;
  const res = await handler(event, {} as Context);
  return {
    status: res.statusCode,
    json: res.body ? JSON.parse(res.body) : undefined,
    headers: { ...res.headers },
  };
}
