import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAllocation } from '../../lambdas/experiments/allocation';
import { analyzeExperiment } from '../../lambdas/experiments/analysis/analyze';
import { readOutcomeCsv } from '../../lambdas/experiments/analysis/outcome-csv';
import { AnalysisReportSchema } from '../../lambdas/experiments/analysis/result';
import { assignVariant } from '../../lambdas/experiments/assignment';
import { registerExperimentCommands } from '../../lambdas/experiments/cli';
import { ExposureSink } from '../../lambdas/experiments/exposures';
import { DynamoExperimentStore } from '../../lambdas/experiments/store/dynamo-experiment-store';
import type { LoggedPrediction } from '../../lambdas/monitoring/log/record';
import { mapLimit } from '../../lambdas/platform/concurrency';
import { rowsToDataset } from '../../lambdas/serving/domain/rows';
import { scoreOnnx } from '../../lambdas/serving/inference/score-onnx';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { type TinyModel, trainTiny, useServingRuntime } from '../serving/support';
import { expectClose } from './support';

// The platform as the template defines it, serving a model of this suite with two versions.
const s = useServingRuntime({ prefix: 'ab' });
const NAME = s.name;
const { call } = s;
const EXP = `${NAME}-exp`;
const ALLOCATION = { control: 0.6, treatment: 0.4 };
const SHARES = [
  { name: 'control', share: ALLOCATION.control },
  { name: 'treatment', share: ALLOCATION.treatment },
];
const UNITS = Array.from({ length: 400 }, (_, i) => `user-${i}`);
let control: TinyModel;
let treatment: TinyModel;
/** Each version's own output for the rows sent. */
const expected: Record<string, number[]> = {};

/** A prediction log line as the log shipper hands it to its sinks (lambdas/monitoring/log/record.ts). */
function asLogged(line: Record<string, unknown>): LoggedPrediction {
  const {
    request_id,
    model,
    version,
    variant,
    api,
    timestamp,
    status,
    latency_ms,
    rows,
    part,
    parts,
    inputs,
    predictions,
    entities,
    error_code,
    ...extra
  } = line;
  return {
    requestId: String(request_id),
    model: String(model),
    version: String(version),
    variant: String(variant),
    api: String(api),
    timestamp: Date.parse(String(timestamp)),
    status: Number(status),
    latencyMs: Number(latency_ms),
    rows: Number(rows ?? 0),
    ...(part !== undefined ? { part: Number(part), parts: Number(parts) } : {}),
    inputs: (inputs ?? {}) as LoggedPrediction['inputs'],
    predictions: (predictions ?? []) as number[],
    ...(entities ? { entities: entities as LoggedPrediction['entities'] } : {}),
    ...(error_code ? { errorCode: String(error_code) } : {}),
    extra,
  };
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const log = vi.spyOn(console, 'log').mockImplementation((s) => {
    stdout += `${s}\n`;
  });
  const error = vi.spyOn(console, 'error').mockImplementation((s) => {
    stdout += `${s}\n`;
  });
  try {
    const program = new Command('mlops').exitOverride();
    registerExperimentCommands(program);
    await program.parseAsync(['experiments', ...args], { from: 'user' });
    return { code: Number(process.exitCode ?? 0), stdout };
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.exitCode = undefined;
  }
}

beforeAll(async () => {
  control = trainTiny('gbdt', 11);
  treatment = trainTiny('logistic', 5);
  expect(await s.register(control)).toBe('1');
  expect(await s.register(treatment)).toBe('2');
  await call('POST', 'model-versions/transition-stage', { name: NAME, version: '1', stage: 'Production' });
  await s.waitReady();
  for (const [v, m] of [
    ['1', control],
    ['2', treatment],
  ] as const) {
    expected[v] = Array.from(await scoreOnnx(m.onnx, m.signature, rowsToDataset(m.signature, control.rows)));
  }
  // The two versions must disagree, or "scored by the treatment" would prove nothing.
  expect(expected['1']).not.toEqual(expected['2']);
});
describe('A/B tests on the local runtime, from the template', () => {
  it('refuses an allocation that does not sum to 100% and versions the registry does not have', async () => {
    const sum = await call('POST', '/v1/experiments', {
      name: `${NAME}-bad`,
      model: NAME,
      control_version: '1',
      treatment_version: '2',
      allocation: { control: 0.9, treatment: 0.2 },
    });
    expect(sum.status).toBe(400);
    expect(sum.json.message).toMatch(/sums to 1\.1 \(110%\)/);
    const missing = await call('POST', '/v1/experiments', {
      name: `${NAME}-bad`,
      model: NAME,
      control_version: '1',
      treatment_version: '7',
    });
    expect(missing.status).toBe(404);
    expect(missing.json.message).toContain('has no version 7');
    expect((await call('GET', `/v1/experiments/${NAME}-bad`)).status).toBe(404);
  });

  it('starts an experiment, one per model', async () => {
    const created = await call('POST', '/v1/experiments', {
      name: EXP,
      model: NAME,
      control_version: '1',
      treatment_version: '2',
      allocation: ALLOCATION,
      salt: 'salt-42',
    });
    expect(created.status).toBe(200);
    expect(created.json.experiment).toMatchObject({ id: EXP, status: 'running', salt: 'salt-42' });
    const second = await call('POST', '/v1/experiments', {
      name: `${EXP}-2`,
      model: NAME,
      control_version: '1',
      treatment_version: '2',
    });
    expect(second.status).toBe(400);
    expect(second.json.message).toContain(`already has a running experiment '${EXP}'`);
    const listed = await call('GET', `/v1/experiments?model=${NAME}`);
    expect(listed.json.experiments.map((e: { id: string }) => e.id)).toEqual([EXP]);
  });

  it('assigns each unit its sticky arm, names it in the response, and scores it with that arm’s version', async () => {
    const answers = await mapLimit(UNITS, 8, async (unit) => {
      const res = await call('POST', `/v1/models/${NAME}/predict`, {
        instances: control.rows,
        unit_id: unit,
      });
      expect(res.status).toBe(200);
      return res.json;
    });
    const arms = { control: 0, treatment: 0 };
    answers.forEach((a, i) => {
      const arm = assignVariant(SHARES, 'salt-42', UNITS[i] as string) as 'control' | 'treatment';
      arms[arm]++;
      expect(a).toMatchObject({ experiment: EXP, arm, model_version: arm === 'control' ? '1' : '2' });
      expect(a.predictions).toEqual(expected[a.model_version]);
    });
    // Within 4 standard deviations of the planned 40% treatment share.
    const sd = Math.sqrt((UNITS.length * 0.4 * 0.6) as number);
    expect(Math.abs(arms.treatment - 0.4 * UNITS.length)).toBeLessThan(4 * sd);
    expect(arms.control).toBeGreaterThan(0);

    // Sticky: the same units again, in another order, get the same arms.
    const again = [...UNITS.slice(0, 50)].reverse();
    for (const unit of again) {
      const res = await call('POST', `/v1/models/${NAME}/predict`, {
        instances: control.rows,
        unit_id: unit,
      });
      expect(res.json.arm).toBe(answers[UNITS.indexOf(unit)].arm);
    }

    // The inference protocol takes the unit as parameters.unit_id.
    const unit = UNITS.find((u) => assignVariant(SHARES, 'salt-42', u) === 'treatment') as string;
    const inputs = control.signature.inputs.map((i) => ({
      name: i.name,
      shape: [control.rows.length],
      datatype: i.type === 'double' ? 'FP64' : 'BYTES',
      data: control.rows.map((r) => r[i.name] ?? null),
    }));
    const v2 = await call('POST', `/v2/models/${NAME}/infer`, { parameters: { unit_id: unit }, inputs });
    expect(v2.status).toBe(200);
    expect(v2.json).toMatchObject({ model_version: '2', parameters: { experiment: EXP, arm: 'treatment' } });
    const bad = await call('POST', `/v2/models/${NAME}/infer`, { parameters: { unit_id: 7 }, inputs });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/parameters\.unit_id must be a string/);
  });

  it('leaves a request without unit_id as it was: the served version, no experiment', async () => {
    const res = await call('POST', `/v1/models/${NAME}/predict`, { instances: control.rows });
    expect(res.status).toBe(200);
    expect(res.json.model_version).toBe('1');
    expect(res.json.predictions).toEqual(expected['1']);
    expect(res.json).not.toHaveProperty('experiment');
    expect(res.json).not.toHaveProperty('arm');
  });

  it('records exposures from the prediction log, outcomes idempotently, and analyses them as the CSV analysis does', async () => {
    const planned = { control: 0, treatment: 0 };
    for (const u of UNITS) planned[assignVariant(SHARES, 'salt-42', u) as 'control' | 'treatment']++;
    // The template's log shipper reads the predict function's log (locally: its stdout,
    // through the subscription filter) and hands the lines to the ExposureSink.
    const store = new DynamoExperimentStore(
      localDynamoClients(s.runtime.dynamodbEndpoint).doc,
      'experiments',
    );
    await s.runtime.logSubscriptions.flush();
    let counts = await store.exposureCounts(EXP);
    for (
      let i = 0;
      i < 120 && (counts.get('control') ?? 0) + (counts.get('treatment') ?? 0) < UNITS.length;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 250));
      await s.runtime.logSubscriptions.flush();
      counts = await store.exposureCounts(EXP);
    }
    expect(Object.fromEntries(counts)).toEqual(planned);

    // The same lines redelivered to the sink record nothing more.
    const lines = readFileSync(join(s.dataDir, 'logs', 'predictions.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const mine = lines.filter((l) => l.model === NAME);
    expect(mine.filter((l) => l.experiment === EXP).length).toBeGreaterThanOrEqual(UNITS.length);
    expect(mine.find((l) => l.unit_id === UNITS[0])).toMatchObject({ experiment: EXP, unit_id: UNITS[0] });
    await new ExposureSink(store).write(mine.map(asLogged));
    expect(Object.fromEntries(await store.exposureCounts(EXP))).toEqual(planned);

    // Outcomes: some units several, most none; values with cents.
    const outcomes = UNITS.flatMap((unit, i) =>
      i % 3 === 0
        ? []
        : Array.from({ length: 1 + (i % 4 === 0 ? 1 : 0) }, (_, k) => ({
            outcome_id: `${unit}-o${k}`,
            unit_id: unit,
            converted: (i * 7 + k) % 5 === 0,
            value: ((i * 37 + k * 11) % 90) + 0.25,
            timestamp: '2026-12-04T10:00:00Z',
          })),
    );
    const first = await call('POST', `/v1/experiments/${EXP}/outcomes`, { outcomes: outcomes.slice(0, 200) });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ experiment: EXP, received: 200, recorded: 200, duplicates: 0 });
    const retried = await call('POST', `/v1/experiments/${EXP}/outcomes`, {
      outcomes: outcomes.slice(0, 200),
    });
    expect(retried.json).toEqual({ experiment: EXP, received: 200, recorded: 0, duplicates: 200 });
    const rest = await call('POST', `/v1/experiments/${EXP}/outcomes`, { outcomes: outcomes.slice(150) });
    expect(rest.json).toMatchObject({ recorded: outcomes.length - 200, duplicates: 50 });

    const analysis = await call('GET', `/v1/experiments/${EXP}/analysis?mde=0.1&power=0.9`);
    expect(analysis.status).toBe(200);
    const report = AnalysisReportSchema.parse(analysis.json);

    // Rejected batches change nothing.
    const ghost = await call('POST', `/v1/experiments/${EXP}/outcomes`, {
      outcomes: [
        { outcome_id: 'g1', unit_id: UNITS[0], converted: true, value: 1, timestamp: '2026-12-04T10:00:00Z' },
        {
          outcome_id: 'g2',
          unit_id: 'never-served',
          converted: true,
          value: 1,
          timestamp: '2026-12-04T10:00:00Z',
        },
      ],
    });
    expect(ghost.status).toBe(400);
    expect(ghost.json.message).toContain("'never-served'");
    const surrogate = await call('POST', `/v1/experiments/${EXP}/outcomes`, {
      outcomes: [
        {
          outcome_id: 'g3',
          unit_id: 'x\ud800',
          converted: true,
          value: 1,
          timestamp: '2026-12-04T10:00:00Z',
        },
      ],
    });
    expect(surrogate.status).toBe(400);
    expect(surrogate.json.message).toMatch(/unpaired UTF-16 surrogate/);
    const unknown = await call('POST', '/v1/experiments/no-such-exp/outcomes', {
      outcomes: outcomes.slice(0, 1),
    });
    expect(unknown.status).toBe(404);
    expect((await call('GET', `/v1/experiments/${EXP}/analysis?mde=0.1&power=0.9`)).json).toEqual(
      analysis.json,
    );

    // The same data as a CSV of one row per exposed unit, analysed by `--data`.
    const perUnit = new Map<string, { converted: boolean; value: number }>();
    for (const o of outcomes) {
      const u = perUnit.get(o.unit_id) ?? { converted: false, value: 0 };
      u.converted ||= o.converted;
      u.value += o.value;
      perUnit.set(o.unit_id, u);
    }
    const csv = join(s.dataDir, 'outcomes.csv');
    writeFileSync(
      csv,
      `variant,unit_id,converted,value\n${UNITS.map((u) => {
        const o = perUnit.get(u) ?? { converted: false, value: 0 };
        return `${assignVariant(SHARES, 'salt-42', u)},${u},${o.converted ? 1 : 0},${o.value}`;
      }).join('\n')}\n`,
    );
    const allocation = parseAllocation('control=0.6,treatment=0.4');
    const fromCsv = analyzeExperiment(
      allocation,
      await readOutcomeCsv(
        (async function* () {
          yield readFileSync(csv);
        })(),
        ['control', 'treatment'],
        csv,
      ),
      { mdeRelative: 0.1, power: 0.9 },
    );
    expectClose(report, fromCsv);
    expect(report.variants.map((v) => v.units)).toEqual([planned.control, planned.treatment]);

    // `mlops experiments analyze <id>` prints the route's report.
    const printed = await cli(
      'analyze',
      EXP,
      '--api-url',
      s.runtime.url,
      '--mde',
      '0.1',
      '--power',
      '0.9',
      '--format',
      'json',
    );
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(analysis.json);
    const both = await cli('analyze', EXP, '--data', csv, '--api-url', s.runtime.url);
    expect(both.code).toBe(1);
    expect(both.stdout).toMatch(/either an experiment id or --data/);
  });

  it('stops the experiment, still reading it and taking outcomes of its units', async () => {
    const stopped = await call('POST', `/v1/experiments/${EXP}/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.json.experiment).toMatchObject({ id: EXP, status: 'stopped' });
    expect((await call('POST', `/v1/experiments/${EXP}/stop`)).json.experiment.status).toBe('stopped');
    const late = await call('POST', `/v1/experiments/${EXP}/outcomes`, {
      outcomes: [
        {
          outcome_id: 'late-1',
          unit_id: UNITS[1],
          converted: true,
          value: 3,
          timestamp: '2026-12-05T10:00:00Z',
        },
      ],
    });
    expect(late.json).toMatchObject({ recorded: 1 });
    expect((await call('GET', '/v1/experiments/no-such-exp')).status).toBe(404);
  });
});
