import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBaselineProfile } from '../../lambdas/monitoring/profile/baseline-profile';
import { scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import type { Dataset } from '../../lambdas/training/data/dataset';
import { readTable } from '../../lambdas/training/data/read-table';
import { FsRunRecorder } from '../../lambdas/training/recording/fs-run-recorder';
import { executeTraining } from '../../lambdas/training/trial/execute';
import { prepareTraining } from '../../lambdas/training/trial/prepare';
import reference from './fixtures/sklearn_reference.json';

// Reference numbers come from scripts/reference/sklearn_reference.py (scikit-learn defaults, same split).
let dataset: Dataset;
let root: string;
beforeAll(async () => {
  dataset = await readTable(join(import.meta.dirname, 'fixtures', 'breast_cancer.csv'));
  root = await mkdtemp(join(tmpdir(), 'runs-'));
});

describe('built-in trainers against scikit-learn on breast cancer (same split)', () => {
  it.each(['logistic', 'gbdt'] as const)(
    '%s AUC is within 0.01 of scikit-learn defaults',
    async (algorithm) => {
      const prep = prepareTraining({ dataset, label: 'target', algorithm, splitColumn: 'split' });
      expect(prep.test.X.rows).toBe(reference.test_rows);
      const outcome = await executeTraining(prep, await FsRunRecorder.start(root, algorithm));
      expect(Math.abs(outcome.testMetrics.auc! - reference[algorithm].auc)).toBeLessThanOrEqual(0.01);
      expect(outcome.onnxMaxAbsDiff).toBeLessThanOrEqual(1e-6);
    },
  );

  it('a run records params, per-iteration metrics, the model, evaluation, plots and the profile', async () => {
    const prep = prepareTraining({
      dataset,
      label: 'target',
      algorithm: 'gbdt',
      splitColumn: 'split',
      options: { maxIterations: 20 },
    });
    const run = await FsRunRecorder.start(root, 'artifacts');
    const outcome = await executeTraining(prep, run);
    const meta = await FsRunRecorder.read(root, outcome.runId);
    expect(meta).toMatchObject({
      status: 'FINISHED',
      params: { algorithm: 'gbdt', maxIterations: '20', split: 'column:split' },
    });
    const metrics = (await readFile(join(run.dir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(metrics.filter((m) => m.key === 'train_loss').map((m) => m.step)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const files = await readdir(join(run.dir, 'artifacts'), { recursive: true });
    expect(files).toEqual(
      expect.arrayContaining([
        'model/model.onnx',
        'model/signature.json',
        'model/MLmodel',
        'evaluation/evaluation.json',
        'evaluation/confusion_matrix.svg',
        'evaluation/feature_importance.svg',
        'evaluation/calibration.svg',
        'profile/baseline_profile.json',
      ]),
    );
    const evaluation = JSON.parse(
      await readFile(join(run.dir, 'artifacts/evaluation/evaluation.json'), 'utf8'),
    );
    const cm = evaluation.candidate.confusion;
    expect(cm.tp + cm.fp + cm.tn + cm.fn).toBe(reference.test_rows);
    expect(evaluation.feature_importance.kind).toBe('gain');
    expect(evaluation.verdict.promote).toBe(true);
    const profile = JSON.parse(
      await readFile(join(run.dir, 'artifacts/profile/baseline_profile.json'), 'utf8'),
    );
    expect(profile.features.mean_radius.count).toBe(reference.test_rows);
    expect(profile.features.mean_radius.counts.reduce((a: number, b: number) => a + b, 0)).toBe(
      reference.test_rows,
    );
    expect(profile.predictions.counts.reduce((a: number, b: number) => a + b, 0)).toBe(reference.test_rows);
    // The prediction baseline is of the exported model's scores, as serving returns them.
    const onnx = new Uint8Array(await readFile(join(run.dir, 'artifacts/model/model.onnx')));
    const signature = JSON.parse(await readFile(join(run.dir, 'artifacts/model/signature.json'), 'utf8'));
    const served = await scoreOnnx(onnx, signature, prep.test.data);
    expect(profile.predictions).toEqual(
      buildBaselineProfile(prep.test.data, prep.features, served, prep.task).predictions,
    );
  });

  it('compares the candidate with the Production model on the same test rows', async () => {
    // Production: a deliberately weak logistic model (strong regularization); the candidate is the default one.
    const weak = prepareTraining({
      dataset,
      label: 'target',
      algorithm: 'logistic',
      splitColumn: 'split',
      options: { C: 0.0005 },
    });
    const weakRun = await FsRunRecorder.start(root, 'weak');
    const weakOutcome = await executeTraining(weak, weakRun);
    const onnx = new Uint8Array(await readFile(join(weakRun.dir, 'artifacts/model/model.onnx')));
    const signature = JSON.parse(await readFile(join(weakRun.dir, 'artifacts/model/signature.json'), 'utf8'));
    const production = { version: '1', onnx, signature };
    const rule = { metric: 'log_loss', minImprovement: 0.01, guards: [] };
    const better = await executeTraining(
      prepareTraining({
        dataset,
        label: 'target',
        algorithm: 'logistic',
        splitColumn: 'split',
        production,
        promotionRule: rule,
      }),
      await FsRunRecorder.start(root, 'better'),
    );
    expect(better.productionMetrics?.log_loss).toBeCloseTo(weakOutcome.testMetrics.log_loss!, 12);
    expect(better.verdict.promote).toBe(true);
    const same = await executeTraining(
      prepareTraining({
        dataset,
        label: 'target',
        algorithm: 'logistic',
        splitColumn: 'split',
        options: { C: 0.0005 },
        production,
        promotionRule: rule,
      }),
      await FsRunRecorder.start(root, 'same'),
    );
    expect(same.verdict.promote).toBe(false);
  });

  it('a seeded search records one child run per trial and reproduces its trials', async () => {
    const tune = { strategy: 'random' as const, maxTrials: 4, seed: 3, parallelism: 2, metric: 'auc' };
    const run = async () => {
      const parent = await FsRunRecorder.start(root, 'search');
      const outcome = await executeTraining(
        prepareTraining({ dataset, label: 'target', algorithm: 'logistic', splitColumn: 'split', tune }),
        parent,
      );
      return { outcome, parent };
    };
    const a = await run();
    const b = await run();
    expect(b.outcome.bestTrial).toEqual(a.outcome.bestTrial);
    const runs = await readdir(root);
    const children = [];
    for (const id of runs) {
      const meta = await FsRunRecorder.read(root, id);
      if ((meta.tags as Record<string, string>)['mlflow.parentRunId'] === a.parent.runId) children.push(meta);
    }
    expect(children).toHaveLength(4);
  });
});
