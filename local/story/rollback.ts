import { DataType, encodeModel, tensorType } from '../../lambdas/training/onnx/model-proto';
import { type StoryContext, StoryStepError } from './context';
import { deployThroughCanary } from './deploy';
import { tally } from './traffic';

/**
 * A candidate exported with a fixed batch size of one: its graph reshapes the input to one
 * row first. It loads, passes the registry's checks and the canary's readiness probe, and
 * answers single rows; any request of more rows fails in onnxruntime (a 5xx from serving).
 */
export function batchOfOneOnnx(inputName: string, features: number): Uint8Array {
  return encodeModel({
    opsets: { '': 15 },
    metadata: { algorithm: 'logistic', note: 'broken on purpose: fixed batch size 1' },
    graph: {
      name: 'broken_candidate',
      inputs: [{ name: inputName, type: tensorType(DataType.DOUBLE, ['N', features]) }],
      outputs: [
        { name: 'probabilities', type: tensorType(DataType.DOUBLE, ['N', 2]) },
        { name: 'label', type: tensorType(DataType.INT64, ['N']) },
      ],
      initializers: [
        { name: 'one_row', dims: [2], dataType: DataType.INT64, values: [1, features] },
        {
          name: 'weights',
          dims: [features, 1],
          dataType: DataType.DOUBLE,
          values: new Array(features).fill(0.01),
        },
        { name: 'intercept', dims: [1], dataType: DataType.DOUBLE, values: [-1] },
        { name: 'class_sign', dims: [1, 2], dataType: DataType.DOUBLE, values: [-1, 1] },
        { name: 'class_offset', dims: [2], dataType: DataType.DOUBLE, values: [1, 0] },
      ],
      nodes: [
        { opType: 'Reshape', inputs: [inputName, 'one_row'], outputs: ['x'] },
        { opType: 'Gemm', inputs: ['x', 'weights', 'intercept'], outputs: ['logit'] },
        { opType: 'Sigmoid', inputs: ['logit'], outputs: ['p1'] },
        { opType: 'Gemm', inputs: ['p1', 'class_sign', 'class_offset'], outputs: ['probabilities'] },
        {
          opType: 'ArgMax',
          inputs: ['probabilities'],
          outputs: ['label'],
          attributes: { axis: { kind: 'int', value: 1 }, keepdims: { kind: 'int', value: 0 } },
        },
      ],
    },
  });
}

async function artifact(ctx: StoryContext, root: string, path: string, body?: Uint8Array | string) {
  const res = await fetch(`${ctx.rt.url}/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`, {
    method: body === undefined ? 'GET' : 'PUT',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/octet-stream' }, body }),
  });
  if (!res.ok) throw new Error(`${body === undefined ? 'GET' : 'PUT'} artifact ${path}: ${res.status}`);
  return res;
}

/**
 * Registers the broken candidate through the MLflow API (a run with the live version's
 * signature and the broken file), deploys it through the canary under traffic, and expects
 * the canary's alarms to roll it back.
 */
export async function brokenCandidate(
  ctx: StoryContext,
  users: readonly number[],
  step: string,
): Promise<void> {
  const live = ctx.facts.versions.retrained ?? ctx.facts.production.at(-1);
  if (!live) throw new StoryStepError(step, 'no live version');
  const model = ctx.facts.model;
  const mv = (
    await ctx.ok(
      'GET',
      `/api/2.0/mlflow/model-versions/get?name=${encodeURIComponent(model)}&version=${live}`,
    )
  ).model_version;
  const liveRun = (await ctx.ok('GET', `/api/2.0/mlflow/runs/get?run_id=${mv.run_id}`)).run;
  const liveRoot = String(liveRun.info.artifact_uri).replace(/^mlflow-artifacts:\//, '');
  const signatureText = await (await artifact(ctx, liveRoot, 'model/signature.json')).text();
  const signature = JSON.parse(signatureText) as { tensorInput?: { name: string }; inputs: unknown[] };
  const onnx = batchOfOneOnnx(signature.tensorInput?.name ?? 'features', signature.inputs.length);

  const run = (
    await ctx.ok('POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: liveRun.info.experiment_id,
      run_name: 'broken-candidate',
      tags: [{ key: 'mlops.note', value: 'fixed batch size 1: fails on requests of more than one row' }],
    })
  ).run;
  const root = String(run.info.artifact_uri).replace(/^mlflow-artifacts:\//, '');
  await artifact(ctx, root, 'model/model.onnx', onnx);
  await artifact(ctx, root, 'model/signature.json', signatureText);
  await artifact(ctx, root, 'model/MLmodel', 'flavors:\n  onnx:\n    data: model.onnx\n');
  await ctx.ok('POST', '/api/2.0/mlflow/runs/update', { run_id: run.info.run_id, status: 'FINISHED' });
  const created = (
    await ctx.ok('POST', '/api/2.0/mlflow/model-versions/create', {
      name: model,
      source: `runs:/${run.info.run_id}/model`,
      run_id: run.info.run_id,
      description: 'Broken on purpose: exported with a fixed batch size of 1',
    })
  ).model_version;
  const version = String(created.version);
  ctx.facts.versions.broken = version;
  ctx.facts.runIds.push(String(run.info.run_id));
  ctx.say(
    `registered v${version} (${created.status}): loads and answers one row, fails on more (fixed batch size 1)`,
  );

  const { record, served } = await deployThroughCanary(ctx, version, users);
  if (record.status !== 'rolled_back')
    throw new StoryStepError(
      step,
      `the broken candidate v${version} ended '${record.status}', not rolled back`,
    );
  const after = await ctx.ok('GET', `/v1/deployments/${encodeURIComponent(model)}`);
  ctx.say(`rolled back at ${record.steps || 'its first step'}: ${record.rollback_reason}`);
  ctx.say(
    `live alias back on model v${after.live.model_version} (${tally(served.filter((s) => s.status !== 200))} failed answers during the canary)`,
  );
  ctx.facts.rollback = {
    version,
    reason: String(record.rollback_reason ?? ''),
    restored: String(after.live.model_version ?? live),
  };
}
