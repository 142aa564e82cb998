import { createHash } from 'node:crypto';
// onnxruntime-web (WebAssembly) is what a browser or edge device runs the exported file with.
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { rowsToDataset } from '../../lambdas/serving/domain/rows';
import { buildFeeds, primaryOutput, scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import { call, putArtifact, unique } from '../tracking/support';
import { byoModel, type TinyModel, trainTiny } from './support';

ort.env.wasm.numThreads = 1;

async function registered(model: TinyModel): Promise<string> {
  const name = unique('edge');
  await call('POST', 'registered-models/create', { name });
  const exp = await call('POST', 'experiments/create', { name: unique('edge-exp') });
  const run = (await call('POST', 'runs/create', { experiment_id: exp.body.experiment_id })).body.run;
  await putArtifact(run.info.artifact_uri, 'model/model.onnx', model.onnx);
  await putArtifact(run.info.artifact_uri, 'model/signature.json', JSON.stringify(model.signature));
  await putArtifact(run.info.artifact_uri, 'model/MLmodel', 'flavors:\n  onnx:\n    data: model.onnx\n');
  const v = await call('POST', 'model-versions/create', { name, source: `runs:/${run.info.run_id}/model` });
  expect(v.body.model_version.status).toBe('READY');
  return name;
}

describe.each([
  ['a built-in GBDT', () => trainTiny('gbdt', 5)],
  ['a built-in logistic regression', () => trainTiny('logistic', 5)],
  ['a bring-your-own model', byoModel],
])('the exported file of %s', (_label, make) => {
  it('gives the same outputs in onnxruntime-web (WebAssembly) as on the server', async () => {
    const model = make();
    const name = await registered(model);
    const exp = await call('GET', `/v1/models/${name}/versions/1/export`);
    expect(exp.status).toBe(200);
    const bytes = new Uint8Array(await (await fetch(exp.body.onnx.url)).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(exp.body.onnx.sha256);

    const sig = exp.body.signature;
    const ds = rowsToDataset(sig, model.rows);
    const server = await scoreOnnx(model.onnx, model.signature, ds);
    // The same feeds, as web tensors of the same type, data and shape.
    const feeds = Object.fromEntries(
      Object.entries(buildFeeds(sig, ds)).map(([k, t]) => [
        k,
        new ort.Tensor(t.type as 'float64', t.data as Float64Array, t.dims),
      ]),
    );
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const out = primaryOutput(sig).name;
    const t = (await session.run(feeds, [out]))[out]!;
    const width = t.dims.length === 2 ? Number(t.dims[1]) : 1;
    const web = Array.from({ length: ds.rowCount }, (_, i) =>
      Number((t.data as Float64Array)[i * width + width - 1]),
    );
    await session.release();
    for (const [i, p] of web.entries()) expect(p).toBeCloseTo(server[i]!, 6);
  });
});
