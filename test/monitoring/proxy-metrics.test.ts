import { describe, expect, inject, it } from 'vitest';
import { ExperimentService } from '../../lambdas/experiments/domain/experiments';
import { ExposureSink } from '../../lambdas/experiments/exposures';
import { ExperimentSpecSchema, type Outcome } from '../../lambdas/experiments/model';
import { DynamoExperimentStore } from '../../lambdas/experiments/store/dynamo-experiment-store';
import type { LoggedPrediction } from '../../lambdas/monitoring/log/record';
import { computeProxyMetrics, proxyEmf } from '../../lambdas/monitoring/performance/proxy';
import { localDynamoClients } from '../../local/engines/dynamodb';

// The experiments table of the template, in the run's dynalite (test/support/global-setup.ts).
const store = new DynamoExperimentStore(localDynamoClients(inject('dynamodbEndpoint')).doc, 'experiments');
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-02T00:00:00Z');
const registry = { getVersion: async () => ({ status: 'READY' }) };

/** Prediction log lines of an experiment as serving writes them: the arm and unit in `extra`. */
function served(model: string, experiment: string, unit: string, arm: string, version: string, at: number) {
  return {
    requestId: `req-${unit}`,
    model,
    version,
    variant: 'live',
    api: 'v1',
    timestamp: at,
    status: 200,
    latencyMs: 1,
    rows: 1,
    inputs: {},
    predictions: [0.5],
    extra: { experiment, arm, unit_id: unit },
  } satisfies LoggedPrediction;
}

describe('proxy metrics from experiment outcomes', () => {
  it('give each version its conversion rate and mean outcome per window of outcome time, joined by unit', async () => {
    const model = `proxy-${Date.now().toString(36)}`;
    const service = new ExperimentService({ store, registry, now: () => T0 });
    const exp = await service.create(
      ExperimentSpecSchema.parse({
        name: model,
        model,
        control_version: '3',
        treatment_version: '4',
        allocation: { control: 0.5, treatment: 0.5 },
      }),
    );
    // 20 units exposed through the prediction log: even ones to control (v3), odd to treatment (v4).
    const lines = Array.from({ length: 20 }, (_, i) =>
      served(model, exp.id, `u${i}`, i % 2 ? 'treatment' : 'control', i % 2 ? '4' : '3', T0 + i * 1000),
    );
    await new ExposureSink(store).write(lines);
    // Day 1: control converts 2 of 4 (values 10, 0, 5, 1); treatment 3 of 4 (values 8, 8, 2, 6).
    // Day 2: control 1 of 2 (values 4, 0); treatment none (values 1, 1). One outcome outside the range.
    const outcome = (id: string, unit: number, converted: boolean, value: number, at: number): Outcome => ({
      outcome_id: id,
      unit_id: `u${unit}`,
      converted,
      value,
      timestamp: new Date(at).toISOString(),
    });
    const d1 = T0 + 3_600_000;
    const d2 = T0 + DAY + 3_600_000;
    await service.recordOutcomes(exp.id, [
      outcome('a', 0, true, 10, d1),
      outcome('b', 2, false, 0, d1),
      outcome('c', 4, true, 5, d1),
      outcome('d', 6, false, 1, d1),
      outcome('e', 1, true, 8, d1),
      outcome('f', 3, true, 8, d1),
      outcome('g', 5, false, 2, d1),
      outcome('h', 7, true, 6, d1),
      outcome('i', 8, true, 4, d2),
      outcome('j', 10, false, 0, d2),
      outcome('k', 9, false, 1, d2),
      outcome('l', 11, false, 1, d2),
      outcome('late', 12, true, 1000, T0 + 5 * DAY),
    ]);

    const report = await computeProxyMetrics(store, { model, from: T0, to: T0 + 2 * DAY, windowMs: DAY });
    const pick = (m: (typeof report.windows)[number]) => [
      m.from,
      m.version,
      m.outcomes,
      m.conversionRate,
      m.valueMean,
    ];
    expect(report.windows.map(pick)).toEqual([
      [T0, '3', 4, 0.5, 4],
      [T0, '4', 4, 0.75, 6],
      [T0 + DAY, '3', 2, 0.5, 2],
      [T0 + DAY, '4', 2, 0, 1],
    ]);
    expect(report.versions.map((v) => [v.version, v.arm, v.outcomes, v.conversions])).toEqual([
      ['3', 'control', 6, 3],
      ['4', 'treatment', 6, 3],
    ]);
    expect(report.versions[0]!.valueMean).toBeCloseTo(20 / 6, 12);
    expect(report.versions[1]!.valueMean).toBeCloseTo(26 / 6, 12);

    // Published with the label metrics: per model and version, and per experiment.
    const records = proxyEmf(report, T0 + 2 * DAY);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({
      model,
      version: '4',
      experiment: exp.id,
      OutcomeCount: 6,
      ConversionRate: 0.5,
      OutcomeMean: expect.closeTo(26 / 6, 12),
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'ServerlessMlops/Monitoring',
            Dimensions: [
              ['model', 'version'],
              ['model', 'version', 'experiment'],
            ],
          },
        ],
      },
    });
  });

  it('read nothing for a model without experiments', async () => {
    const report = await computeProxyMetrics(store, {
      model: `none-${Date.now().toString(36)}`,
      from: T0,
      to: T0 + DAY,
      windowMs: DAY,
    });
    expect(report).toMatchObject({ windows: [], versions: [] });
  });
});
