import {
  type BaselineProfile,
  buildBaselineProfile,
} from '../../../lambdas/monitoring/profile/baseline-profile';
import { rowsToDataset } from '../../../lambdas/serving/domain/rows';
import { scoreOnnx } from '../../../lambdas/serving/inference/score-onnx';
import { datasetOf } from '../../../lambdas/training/data/dataset';
import { createRng } from '../../../lambdas/training/random';
import { apiRequest, call, eventually, registerVersion } from '../../console/seed';
import type { TinyModel } from '../../serving/support';

// The served model the monitoring tests (drift alarm, monitoring API, console page) start from:
// test/serving/support.ts's tiny model, registered with the baseline profile training logs.

export type Row = Record<string, number | string | null>;

/** Calls the platform's API (a `/...` path, or an MLflow path) and returns the status with the body, whatever the status. */
export async function apiCall(base: string, method: string, path: string, body?: unknown) {
  const { status, text } = await apiRequest(base, method, path, body);
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
  return { status, json: (text ? JSON.parse(text) : {}) as any };
}

/** Rows as the tiny model was trained on (spend ~ N(50, 10), 10% missing; plan uniform), spend moved by `shift`. */
export function tinyRows(n: number, seed: number, shift = 0): Row[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const spend = rng.normal() * 10 + 50 + shift;
    return { spend: rng.next() < 0.1 ? null : spend, plan: ['basic', 'pro', 'team'][rng.int(3)] as string };
  });
}

/** The baseline profile training logs for `model` on `rows`: the rows' features and the model's scores of them. */
export async function baselineProfileOf(model: TinyModel, rows: readonly Row[]): Promise<BaselineProfile> {
  const ds = rowsToDataset(model.signature, rows as Row[]);
  const predictions = await scoreOnnx(model.onnx, model.signature, ds);
  const features = model.signature.inputs.map((i) => ({
    name: i.name,
    type: (i.type === 'string' ? 'categorical' : 'numeric') as 'numeric' | 'categorical',
  }));
  return buildBaselineProfile(
    // biome-ignore lint/style/noNonNullAssertion: every signature input is a column of `ds`
    datasetOf(Object.fromEntries(features.map((f) => [f.name, ds.columns.get(f.name)!]))),
    features,
    predictions,
    'binary',
  );
}

/**
 * Registers `model` through the MLflow API with its baseline profile on `baseline` (and
 * `metrics`, e.g. `test_auc` for the performance job), moves it to Production and waits
 * until the platform serves it. Returns the version.
 */
export async function serveWithProfile(
  base: string,
  name: string,
  model: TinyModel,
  baseline: readonly Row[],
  metrics: Record<string, number> = {},
): Promise<string> {
  const profile = await baselineProfileOf(model, baseline);
  await call(base, 'POST', 'registered-models/create', { name });
  const experiment = (await call(base, 'POST', 'experiments/create', { name: `${name}-training` }))
    .experiment_id;
  const version = await registerVersion(base, name, experiment, model, {
    artifacts: { 'profile/baseline_profile.json': JSON.stringify(profile) },
    metrics,
  });
  await call(base, 'POST', 'model-versions/transition-stage', { name, version, stage: 'Production' });
  await eventually('the model to serve', async () =>
    (await fetch(`${base}/v2/models/${name}/ready`)).ok ? true : undefined,
  );
  return version;
}
