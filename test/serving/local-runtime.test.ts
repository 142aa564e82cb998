import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { rowsToDataset } from '../../lambdas/serving/domain/rows';
import { scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import { registerTrackingCommands } from '../../lambdas/tracking/cli';
import { type TinyModel, trainTiny, useServingRuntime } from './support';

// The platform as the template defines it, with the served model named for this suite.
const s = useServingRuntime({ prefix: 'served' });
const NAME = s.name;
const { call } = s;
const model: TinyModel = trainTiny('gbdt', 11);

describe('serving on the local runtime, from the template', () => {
  it('is not ready before a version is in Production, and says why', async () => {
    const res = await call('GET', `/v2/models/${NAME}/ready`);
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ ready: false, error_code: 'MODEL_NOT_READY' });
    expect(res.json.message).toMatch(/not found|no version in Production/);
  });

  it('serves a version registered through the MLflow API and moved to Production', async () => {
    expect(await s.register(model)).toBe('1');
    await call('POST', 'model-versions/transition-stage', { name: NAME, version: '1', stage: 'Production' });

    // A failed load is retried at most once a second: the readiness probe turns true.
    let ready = await call('GET', `/v2/models/${NAME}/ready`);
    for (let i = 0; i < 40 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      ready = await call('GET', `/v2/models/${NAME}/ready`);
    }
    expect(ready.json).toEqual({ name: NAME, ready: true, version: '1' });

    const expected = Array.from(
      await scoreOnnx(model.onnx, model.signature, rowsToDataset(model.signature, model.rows)),
    );
    const v1 = await call('POST', `/v1/models/${NAME}/predict`, { instances: model.rows });
    expect(v1.status).toBe(200);
    expect(v1.json).toMatchObject({ model_name: NAME, model_version: '1', predictions: expected });
    const inputs = model.signature.inputs.map((i) => ({
      name: i.name,
      shape: [model.rows.length],
      datatype: i.type === 'double' ? 'FP64' : 'BYTES',
      data: model.rows.map((r) => r[i.name] ?? null),
    }));
    const v2 = await call('POST', `/v2/models/${NAME}/infer`, {
      inputs,
      outputs: [{ name: 'probabilities' }],
    });
    expect(v2.status).toBe(200);
    expect(v2.json.outputs[0].data.filter((_: number, i: number) => i % 2 === 1)).toEqual(expected);

    // Every prediction is in the local stand-in for CloudWatch Logs, with the request id.
    const lines = (await readFile(join(s.dataDir, 'logs', 'predictions.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const mine = lines.filter((l) => l.model === NAME && l.status === 200);
    expect(mine.map((l) => l.api)).toEqual(['v1', 'v2']);
    expect(mine[0]).toMatchObject({ request_id: v1.json.request_id, version: '1', predictions: expected });
  });

  it('exports the ONNX file with its signature and checksum, and `mlops models export` writes them', async () => {
    const res = await call('GET', `/v1/models/${NAME}/versions/1/export`);
    expect(res.status).toBe(200);
    const sha = createHash('sha256').update(model.onnx).digest('hex');
    expect(res.json).toMatchObject({
      model_name: NAME,
      model_version: '1',
      signature: model.signature,
      onnx: { sha256: sha, size_bytes: model.onnx.byteLength },
    });
    const bytes = new Uint8Array(await (await fetch(res.json.onnx.url)).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha);

    const out = await mkdtemp(join(tmpdir(), 'export-'));
    const program = new Command('mlops').exitOverride();
    registerTrackingCommands(program);
    await program.parseAsync(['models', 'export', NAME, '1', '--out', out, '--api-url', s.runtime.url], {
      from: 'user',
    });
    expect(
      createHash('sha256')
        .update(readFileSync(join(out, 'model.onnx')))
        .digest('hex'),
    ).toBe(sha);
    expect(JSON.parse(readFileSync(join(out, 'signature.json'), 'utf8'))).toEqual(model.signature);
    expect(readFileSync(join(out, 'model.onnx.sha256'), 'utf8')).toBe(`${sha}  model.onnx\n`);
    rmSync(out, { recursive: true, force: true });
  });
});
