import MLflow from 'mlflow';
import { describe, expect, it, vi } from 'vitest';
import { apiUrl, call, unique } from './support';

describe('concurrent writers', () => {
  it('20 writers logging 1,000 metrics each into one run lose nothing', async () => {
    const exp = await call('POST', 'experiments/create', { name: unique('conc') });
    const runId = (await call('POST', 'runs/create', { experiment_id: exp.body.experiment_id })).body.run.info
      .run_id;
    // Every writer logs the shared key "loss" and its own key, 10 batches of 100 points.
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        for (let b = 0; b < 10; b++) {
          const metrics = Array.from({ length: 100 }, (_, i) => {
            const step = b * 100 + i;
            return i % 2
              ? { key: 'loss', value: w * 1000 + step, timestamp: 1, step }
              : { key: `w${w}`, value: step, timestamp: 1, step };
          });
          const res = await call('POST', 'runs/log-batch', { run_id: runId, metrics });
          expect(res.status).toBe(200);
        }
      }),
    );
    const run = (await call('GET', `runs/get?run_id=${runId}`)).body.run;
    const latest = Object.fromEntries(run.data.metrics.map((m: any) => [m.key, m]));
    // Greatest step is 999 for every writer's "loss"; the greatest value at that step wins.
    expect(latest.loss).toMatchObject({ step: 999, value: 19 * 1000 + 999 });
    for (let w = 0; w < 20; w++) expect(latest[`w${w}`]).toMatchObject({ step: 998, value: 998 });
    const loss = await call('GET', `metrics/get-history?run_id=${runId}&metric_key=loss`);
    expect(loss.body.metrics).toHaveLength(20 * 500);
    const own = await call('GET', `metrics/get-history?run_id=${runId}&metric_key=w7`);
    expect(own.body.metrics).toHaveLength(500);
  });
});

describe('the independent npm client `mlflow` against our API', () => {
  it('creates experiments and runs, logs params, metrics and batches, and searches', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined); // the package logs every POST body
    // Its typings are stricter than its own wire use (they demand user_id, enum objects): call it loosely.
    // biome-ignore lint/suspicious/noExplicitAny: an untyped third-party client is the point of this test
    const client: any = new MLflow({ endpoint: apiUrl });
    const { Experiments, Runs, Metrics } = client;
    const name = unique('npm');
    const { experiment_id } = await Experiments.create({ name });
    expect((await Experiments.get({ experiment_id })).experiment.name).toBe(name);
    const { run } = await Runs.create({
      experiment_id,
      start_time: Date.now(),
      tags: [{ key: 'src', value: 'npm' }],
    });
    const run_id = run.info.run_id;
    await Runs.logParameter({ run_id, key: 'lr', value: '0.01' });
    await Runs.logMetric({ run_id, key: 'auc', value: 0.8, timestamp: Date.now(), step: 1 });
    await Runs.logBatch({
      run_id,
      metrics: [{ key: 'auc', value: 0.9, timestamp: Date.now(), step: 2 }],
      params: [{ key: 'depth', value: '6' }],
      tags: [{ key: 't', value: 'v' }],
    });
    await Runs.setTag({ run_id, key: 'team', value: 'risk' });
    await Runs.update({ run_id, status: 'FINISHED', end_time: Date.now() });
    const history = await Metrics.getHistory({ run_id, metric_key: 'auc' });
    expect(history.metrics.map((m: any) => m.value)).toEqual([0.8, 0.9]);
    const { runs } = await Runs.search({
      experiment_ids: [experiment_id],
      filter: "metrics.auc > 0.85 AND params.depth = '6'",
      run_view_type: 'ACTIVE_ONLY',
    });
    expect(runs).toHaveLength(1);
    expect(runs[0].info).toMatchObject({ run_id, status: 'FINISHED' });
    expect(runs[0].data.params).toEqual(
      expect.arrayContaining([
        { key: 'lr', value: '0.01' },
        { key: 'depth', value: '6' },
      ]),
    );
    // Our errors reach it as MLflow error bodies.
    await expect(Runs.logParameter({ run_id, key: 'lr', value: '0.02' })).rejects.toThrow(
      'INVALID_PARAMETER_VALUE',
    );
    await expect(Runs.get({ run_id: 'doesnotexist0' })).rejects.toThrow('RESOURCE_DOES_NOT_EXIST');
  });
});
