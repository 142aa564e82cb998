import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countSorted, psiEdges, quantileSorted } from '../../lambdas/monitoring/drift/numeric-stats';
import { runDriftJob } from '../../lambdas/monitoring/job/drift-job';
import { shipLogEvents } from '../../lambdas/monitoring/log/shipper';
import { buildBaselineProfile } from '../../lambdas/monitoring/profile/baseline-profile';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { PredictionLog } from '../../lambdas/serving/domain/prediction-log';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { createRng } from '../../lambdas/training/random';
import { generate, type SampleSpec } from './support/lcg';

const BUCKET = 'monitoring';
const NOW = Date.parse('2026-06-10T12:00:00Z');
const dataDir = mkdtempSync(join(tmpdir(), 'mlops-psi-ties-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/**
 * A tree model's scores: a step function of spend with 7 leaves, so every decile of the
 * scores is a tied value. Each leaf's score but the lowest rounds *down* to float32, as the
 * served ONNX model returns it, while training profiled the float64 scores.
 */
const LEAVES = [0.05, 0.246802468, 0.35, 0.45, 0.65, 0.8414709848, 0.95];
const CUTS = [38, 45, 50, 55, 62, 70];
function traffic(n: number, seed: number) {
  const rng = createRng(seed);
  const spend = new Float64Array(n);
  const score = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    spend[i] = rng.normal() * 10 + 50;
    score[i] = LEAVES[CUTS.filter((c) => spend[i]! >= c).length]!;
  }
  return { spend, score };
}

describe('PSI with tied baseline values', () => {
  it('keeps a tie in its bin when live scores are the float32 roundings of the profiled ones', async () => {
    const base = traffic(5000, 1);
    const sorted = base.score.slice().sort();
    // The trap this guards against: a decile that is a tied score whose float32 is below it,
    // so cut points on the deciles themselves would move that leaf's live mass a bin down.
    const trapped = [1, 2, 3, 4, 5, 6, 7, 8, 9]
      .map((k) => quantileSorted(sorted, k / 10))
      .filter((q) => Math.fround(q) < q && sorted.filter((v) => v === q).length > 500);
    expect(trapped.length).toBeGreaterThan(0);

    const profile = buildBaselineProfile(
      datasetOf({ spend: base.spend }),
      [{ name: 'spend', type: 'numeric' }],
      base.score,
      'binary',
    );
    const store = new FsObjectStore(join(dataDir, 's3'));
    const live = traffic(400, 2);
    const lines: string[] = [];
    const log = new PredictionLog(
      (l) => lines.push(l),
      () => NOW - 3_600_000,
    );
    for (let from = 0; from < 400; from += 100) {
      log.success({
        requestId: `r${from}`,
        model: 'tree',
        version: '2',
        variant: '1',
        api: 'v1',
        latencyMs: 1,
        inputs: { spend: Array.from(live.spend.subarray(from, from + 100)) },
        // What onnxruntime-node returns for a float output.
        predictions: Float32Array.from(live.score.subarray(from, from + 100)),
      });
    }
    await shipLogEvents(
      { store, bucket: BUCKET, sinks: [] },
      lines.map((message, k) => ({ id: `tree${String(k).padStart(6, '0')}`, message })),
    );

    const [result] = await runDriftJob(
      {
        store,
        bucket: BUCKET,
        profiles: { get: async () => profile },
        publisher: { publish: async () => undefined },
        emit: () => undefined,
        now: () => NOW,
      },
      { models: ['tree'], windowHours: 24, driftPsi: 0.2 },
    );
    expect(result?.rows).toBe(400);
    // Same law, 400 rows: sampling noise only (0.36 with the cut points on the tied deciles).
    expect(result?.predictionPsi).toBeLessThan(0.1);
    // PSI is what drifts a version through its prediction (KS and Wasserstein do see the float32
    // offsets: the profile is made from the trainer's float64 scores).
    expect(result?.reasons).toEqual([]);
    expect(result?.drifted).toBe(false);
  });

  const samples: [string, number[] | SampleSpec][] = [
    ['five values', [0.1, 0.5, 0.9, 1.3, 2.2]],
    [
      'a tied minimum holding a quarter',
      [...Array(25).fill(1), ...Array.from({ length: 75 }, (_, i) => i + 2)],
    ],
    ['a tie just above an interpolated decile', [1, 2, 3, 4, 5, 6, 7, 8, 9, ...Array(12).fill(10), 11, 12]],
    ['integers, heavy ties', { kind: 'int', seed: 5, n: 800, levels: 12, shift: 0 }],
    ['a constant', [3, 3, 3, 3, 3, 3]],
    ['continuous', { kind: 'normal', seed: 1, n: 501, shift: 0, scale: 1 }],
  ];
  it.each(samples)('leaves no bin empty in the baseline (%s)', (_name, s) => {
    const sorted = (Array.isArray(s) ? Float64Array.from(s) : generate(s)).sort();
    const edges = psiEdges(sorted);
    const counts = countSorted(sorted, edges);
    expect(Math.min(...counts)).toBeGreaterThan(0);
    // No cut point sits on a baseline value: each lies strictly inside a gap between two.
    for (const e of edges) expect(sorted.includes(e)).toBe(false);
  });
});
