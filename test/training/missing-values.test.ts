import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFeeds } from '../../lambdas/serving/inference/score-onnx';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { createRng } from '../../lambdas/training/random';
import { FsRunRecorder } from '../../lambdas/training/recording/fs-run-recorder';
import { builtInSignature, fitModel } from '../../lambdas/training/trained-model';
import { compareWithProduction, executeTraining } from '../../lambdas/training/trial/execute';
import { prepareTraining } from '../../lambdas/training/trial/prepare';

/**
 * A training set with the gaps a point-in-time join leaves: `spend` is missing on a fifth of
 * the rows (no feature row known in time), `plan` likewise; `t` orders the rows in time.
 */
function gappy(n: number, seed: number) {
  const rng = createRng(seed);
  const spend = new Float64Array(n);
  const plan: (string | null)[] = [];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = rng.normal() * 10 + 50;
    const p = ['basic', 'pro', 'team'][rng.int(3)]!;
    spend[i] = rng.next() < 0.2 ? Number.NaN : s;
    plan.push(rng.next() < 0.2 ? null : p);
    y[i] = rng.next() < 1 / (1 + Math.exp(-(0.15 * (s - 50) + (p === 'pro' ? 1 : -0.5)))) ? 1 : 0;
  }
  return datasetOf({ spend, plan, t: Float64Array.from({ length: n }, (_, i) => i), y });
}

describe('missing feature values', () => {
  it('are filled with the training rows’ mean by default, learned without the test rows', () => {
    const dataset = gappy(1000, 1);
    const prep = prepareTraining({ dataset, label: 'y', algorithm: 'gbdt', timeColumn: 't' });
    const spend = dataset.columns.get('spend') as Float64Array;
    const trainRows = Array.from(prep.split.train, (r) => spend[r]!).filter((x) => !Number.isNaN(x));
    const mean = trainRows.reduce((a, b) => a + b, 0) / trainRows.length;
    const feature = prep.features.find((f) => f.name === 'spend')!;
    expect(feature.fill).toBeCloseTo(mean, 12);
    // Test rows with a gap get the training mean too, not their own.
    const testGap = Array.from(prep.split.test).findIndex((r) => Number.isNaN(spend[r]!));
    expect(testGap).toBeGreaterThanOrEqual(0);
    expect(prep.test.X.columns[0]![testGap]).toBe(feature.fill);
    // The categorical gap is no known category (code -1), like an unseen one.
    expect(prep.features.find((f) => f.name === 'plan')!.fill).toBeUndefined();
  });

  it('take the median or zero when asked', () => {
    const dataset = gappy(200, 2);
    const fillOf = (missing: 'median' | 'zero') =>
      prepareTraining({
        dataset,
        label: 'y',
        algorithm: 'logistic',
        timeColumn: 't',
        features: [{ name: 'spend', type: 'numeric', missing }],
      }).features[0]!.fill;
    const spend = dataset.columns.get('spend') as Float64Array;
    const train = Float64Array.from(spend.slice(0, 160))
      .filter((x) => !Number.isNaN(x))
      .sort();
    const mid = train.length >> 1;
    expect(fillOf('median')).toBe(train.length % 2 ? train[mid] : (train[mid - 1]! + train[mid]!) / 2);
    expect(fillOf('zero')).toBe(0);
  });

  it.each(['logistic', 'gbdt'] as const)(
    'are filled inside the exported %s model exactly as in training (ONNX parity on rows with gaps)',
    async (algorithm) => {
      const prep = prepareTraining({ dataset: gappy(1500, 3), label: 'y', algorithm, timeColumn: 't' });
      const recorder = await FsRunRecorder.start(await mkdtemp(join(tmpdir(), 'missing-')), algorithm);
      // executeTraining checks the ONNX model against the in-memory one on every test row,
      // and fails the run when they differ: NaN inputs reach the ONNX model as NaN.
      const outcome = await executeTraining(prep, recorder);
      expect(outcome.onnxMaxAbsDiff).toBeLessThanOrEqual(1e-9);
      expect(outcome.testMetrics['auc']).toBeGreaterThan(0.6);
      const signature = builtInSignature(prep.features, prep.task);
      expect(signature.inputs.find((i) => i.name === 'spend')).toMatchObject({ nullable: true });
    },
  );

  it('are refused by a model whose signature does not declare the input nullable', () => {
    const dataset = gappy(50, 4);
    const signature = {
      tensorInput: { name: 'float_input', elementType: 'float' as const },
      inputs: [{ name: 'spend', type: 'float' as const }],
      outputs: [{ name: 'probabilities', meaning: 'probability' as const }],
    };
    expect(() => buildFeeds(signature, dataset)).toThrow(
      /Input 'spend' is missing in \d+ of 50 row\(s\), and the model's signature does not declare it nullable/,
    );
    expect(() =>
      buildFeeds({ ...signature, inputs: [{ name: 'spend', type: 'float', nullable: true }] }, dataset),
    ).not.toThrow();
  });

  it('leave a Production version that cannot take them uncompared, and say so', async () => {
    // Production was trained when spend had no gaps: its input is not nullable.
    const complete = gappy(1000, 5);
    const spend = complete.columns.get('spend') as Float64Array;
    for (let i = 0; i < spend.length; i++) if (Number.isNaN(spend[i]!)) spend[i] = 50;
    const old = prepareTraining({ dataset: complete, label: 'y', algorithm: 'logistic', timeColumn: 't' });
    const oldModel = fitModel(
      old.parsed,
      old.task,
      old.features,
      old.train.X,
      old.train.y,
      undefined,
      () => undefined,
    );
    const production = {
      version: '3',
      onnx: oldModel.exportOnnx(),
      signature: builtInSignature(old.features, old.task),
    };
    const prep = prepareTraining({
      dataset: gappy(1000, 6),
      label: 'y',
      algorithm: 'logistic',
      timeColumn: 't',
    });
    const compared = await compareWithProduction(prep, { auc: 0.8, log_loss: 0.5 }, production);
    expect(compared.production).toBeUndefined();
    expect(compared.notCompared).toMatch(
      /Production version 3 cannot score the test rows, so it was not compared: Input 'spend' is missing/,
    );
    expect(compared.verdict.reasons[0]).toMatch(/^Production version 3 cannot score .*; auc=0.8$/);
    // With complete rows the same Production version is compared as before.
    const full = prepareTraining({ dataset: complete, label: 'y', algorithm: 'logistic', timeColumn: 't' });
    const again = await compareWithProduction(full, { auc: 0.8, log_loss: 0.5 }, production);
    expect(again.notCompared).toBeUndefined();
    expect(again.production?.metrics['auc']).toBeGreaterThan(0.5);
  });
});
