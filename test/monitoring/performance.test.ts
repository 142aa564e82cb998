import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeLabels } from '../../lambdas/monitoring/labels/labels';
import {
  computePerformance,
  metricsOf,
  type PerformanceMetrics,
  type PerformanceReport,
  performanceDrop,
  performanceEmf,
} from '../../lambdas/monitoring/performance/performance';
import { logged, startIndex } from './labels-support';

interface JoinRequest {
  request_id: string;
  timestamp: number;
  version: string;
  predictions: number[];
  label: number[] | null;
  label_delay_ms: number;
}
interface Expected {
  version: string;
  rows: number;
  labelled_rows: number;
  invalid_labels: number;
  metrics: PerformanceMetrics | null;
}
const vectors = JSON.parse(
  readFileSync(new URL('./reference/performance_vectors.json', import.meta.url), 'utf8'),
) as {
  binary: { name: string; labels: number[]; scores: number[]; expected: Required<PerformanceMetrics> }[];
  regression: {
    name: string;
    labels: number[];
    predictions: number[];
    expected: { rmse: number; mae: number };
  }[];
  join: {
    from: number;
    to: number;
    window_ms: number;
    requests: JoinRequest[];
    windows: (Expected & { from: number })[];
    versions: Expected[];
  };
};

function expectMetrics(actual: PerformanceMetrics | null, expected: PerformanceMetrics | null) {
  if (expected === null) return expect(actual).toBeNull();
  expect(actual).not.toBeNull();
  for (const [k, v] of Object.entries(expected)) {
    const a = (actual as Record<string, number | null>)[k];
    if (v === null) expect(a, k).toBeNull();
    else expect(a, k).toBeCloseTo(v as number, 12);
  }
}

describe('performance metrics against SciPy/numpy (test/monitoring/reference/make_performance_vectors.py)', () => {
  for (const c of vectors.binary) {
    it(`binary: ${c.name}`, () => expectMetrics(metricsOf('binary', c.labels, c.scores), c.expected));
  }
  for (const c of vectors.regression) {
    it(`regression: ${c.name}`, () =>
      expectMetrics(metricsOf('regression', c.labels, c.predictions), c.expected));
  }

  it('measure the drop from training relative to the training value, in the bad direction', () => {
    expect(performanceDrop('binary', { auc: 0.72 }, { metric: 'auc', value: 0.9 })).toBeCloseTo(0.2, 12);
    expect(performanceDrop('binary', { auc: 0.95 }, { metric: 'auc', value: 0.9 })).toBeCloseTo(
      -0.0555555555,
      8,
    );
    expect(performanceDrop('regression', { rmse: 1.5 }, { metric: 'rmse', value: 1.2 })).toBeCloseTo(
      0.25,
      12,
    );
    expect(performanceDrop('binary', { auc: null }, { metric: 'auc', value: 0.9 })).toBeNull();
    expect(performanceDrop('binary', null, { metric: 'auc', value: 0.9 })).toBeNull();
    expect(performanceDrop('binary', { auc: 0.8 }, null)).toBeNull();
  });
});

describe('the performance job joins delayed labels to their predictions', () => {
  let env: Awaited<ReturnType<typeof startIndex>>;
  let report: PerformanceReport;
  const join = vectors.join;

  beforeAll(async () => {
    env = await startIndex();
    // Shipped in two batches, the first delivered twice (as CloudWatch Logs may).
    const records = join.requests.flatMap((r) => logged(r.request_id, r.timestamp, r.version, r.predictions));
    const half = Math.floor(records.length / 2);
    await env.index.write(records.slice(0, half));
    await env.index.write(records.slice(0, half));
    await env.index.write(records.slice(half));
    // Labels arrive up to five days after their predictions, in order of arrival.
    const labelled = join.requests
      .filter((r) => r.label !== null)
      .sort((a, b) => a.timestamp + a.label_delay_ms - (b.timestamp + b.label_delay_ms));
    for (let i = 0; i < labelled.length; i += 100) {
      const batch = labelled.slice(i, i + 100);
      await storeLabels(
        env.index,
        { labels: batch.map((r) => ({ request_id: r.request_id, label: r.label as number[] })) },
        (batch.at(-1) as JoinRequest).timestamp + (batch.at(-1) as JoinRequest).label_delay_ms,
      );
    }
    report = await computePerformance(
      env.index,
      async () => ({ task: 'binary', training: { metric: 'auc', value: 0.9 } }),
      {
        model: 'churn',
        from: join.from,
        to: join.to,
        windowMs: join.window_ms,
        minLabels: 1,
      },
    );
  }, 180_000);

  afterAll(async () => {
    await env?.close();
  });

  it('per window of prediction time and version, as the reference computes them', () => {
    expect(report.windows.map((w) => [w.from, w.version])).toEqual(
      join.windows.map((w) => [w.from, w.version]),
    );
    report.windows.forEach((w, i) => {
      const e = join.windows[i] as Expected;
      expect({ rows: w.rows, labelled: w.labelledRows, invalid: w.invalidLabels }).toEqual({
        rows: e.rows,
        labelled: e.labelled_rows,
        invalid: e.invalid_labels,
      });
      expect(w.coverage).toBeCloseTo(e.labelled_rows / e.rows, 12);
      expectMetrics(w.metrics, e.metrics);
    });
  });

  it('per version over the whole range, with the drop from training', () => {
    expect(report.versions.map((v) => v.version)).toEqual(join.versions.map((v) => v.version));
    report.versions.forEach((v, i) => {
      const e = join.versions[i] as Expected;
      expect([v.rows, v.labelledRows, v.invalidLabels]).toEqual([e.rows, e.labelled_rows, e.invalid_labels]);
      expectMetrics(v.metrics, e.metrics);
      expect(v.drop).toBeCloseTo((0.9 - (e.metrics?.auc as number)) / 0.9, 12);
    });
    // Predictions outside [from, to) (the reference has some on either side) are left out.
    const inside = join.requests.filter((r) => r.timestamp >= join.from && r.timestamp < join.to);
    expect(report.versions.reduce((n, v) => n + v.rows, 0)).toBe(
      inside.reduce((n, r) => n + r.predictions.length, 0),
    );
    expect(report.servingVersion).toBe('2');
  });

  it('puts a label that arrived days later in the window of its prediction, not of its arrival', async () => {
    const day = join.window_ms;
    const predicted = join.from + 0.5 * day;
    await env.index.write(logged('late', predicted, '9', [0.9], 'late-model'));
    await env.index.write(logged('late-2', predicted + 2 * day, '9', [0.1], 'late-model'));
    // The labels arrive on day 4, after the range ends.
    await storeLabels(
      env.index,
      {
        labels: [
          { request_id: 'late', label: 1 },
          { request_id: 'late-2', label: 0 },
        ],
      },
      join.from + 3.5 * day,
    );
    const r = await computePerformance(env.index, async () => ({ task: 'binary' }), {
      model: 'late-model',
      from: join.from,
      to: join.to,
      windowMs: day,
      minLabels: 1,
    });
    expect(r.windows.map((w) => [w.from - join.from, w.labelledRows, w.metrics?.accuracy])).toEqual([
      [0, 1, 1],
      [2 * day, 1, 1],
    ]);
  });

  it('leaves out, with the reason, a version it cannot score, and scores the others', async () => {
    const r = await computePerformance(
      env.index,
      async (v) => (v === '1' ? { skip: 'model has no version 1 (deleted?)' } : { task: 'binary' }),
      { model: 'churn', from: join.from, to: join.to, windowMs: join.window_ms, minLabels: 1 },
    );
    expect(r.versions.map((v) => v.version)).toEqual(['2']);
    expect(r.skipped).toEqual([
      { version: '1', reason: 'model has no version 1 (deleted?)', rows: join.versions[0]?.rows },
    ]);
    expect(r.windows.every((w) => w.version === '2')).toBe(true);
  });

  it("keeps the live version as the serving version while an A/B test's treatment answers last", async () => {
    const t0 = join.from + 1000;
    const ab = (id: string, t: number, version: string, arm: string) =>
      logged(id, t, version, [0.5], 'ab-model').map((r) => ({ ...r, extra: { experiment: 'e1', arm } }));
    await env.index.write([
      ...logged('live-1', t0, '1', [0.5], 'ab-model'),
      ...ab('ab-1', t0 + 10, '1', 'control'),
      ...ab('ab-2', t0 + 20, '2', 'treatment'),
    ]);
    const run = () =>
      computePerformance(env.index, async () => ({ task: 'binary' }), {
        model: 'ab-model',
        from: join.from,
        to: join.to,
        windowMs: join.window_ms,
        minLabels: 1,
      });
    const r = await run();
    // Both arms are scored; the per-model drop (the alarm's, whose action rolls the live
    // alias back) follows the control, the live version, not the treatment.
    expect(r.versions.map((v) => v.version)).toEqual(['1', '2']);
    expect(r.servingVersion).toBe('1');
    // A version answering outside any experiment later is the serving version.
    await env.index.write(logged('live-2', t0 + 30, '2', [0.5], 'ab-model'));
    expect((await run()).servingVersion).toBe('2');
  });

  it('gives no metrics below the minimum of labelled rows, only the coverage', async () => {
    const r = await computePerformance(env.index, async () => ({ task: 'binary' }), {
      model: 'churn',
      from: join.from,
      to: join.to,
      windowMs: join.window_ms,
      minLabels: 10_000,
    });
    expect(r.versions.every((v) => v.metrics === null && v.drop === null && v.coverage > 0)).toBe(true);
  });

  it('emits per model and version, and the serving version per model for the alarm (EMF)', () => {
    type Emf = {
      _aws: {
        CloudWatchMetrics: [{ Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }];
      };
      version?: string;
      PerformanceDrop?: number;
    };
    const records = performanceEmf(report, 1_000) as Emf[];
    expect(records.map((r) => [r._aws.CloudWatchMetrics[0].Dimensions[0], r.version])).toEqual([
      [['model', 'version'], '1'],
      [['model', 'version'], '2'],
      [['model'], undefined],
    ]);
    const model = records[2] as Emf;
    expect(model._aws.CloudWatchMetrics[0].Namespace).toBe('ServerlessMlops/Monitoring');
    expect(model.PerformanceDrop).toBeCloseTo(report.versions[1]?.drop as number, 12);
    expect(model._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual([
      'LabelCoverage',
      'LabelledRows',
      'AUC',
      'Accuracy',
      'F1',
      'Precision',
      'Recall',
      'PerformanceDrop',
    ]);
  });
});
