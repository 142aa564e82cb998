import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchMetricsReader } from '../../lambdas/monitoring/api/cloudwatch-metrics';
import {
  DriftReportsResponseSchema,
  PerformanceResponseSchema,
  RequestMetricsResponseSchema,
} from '../../lambdas/monitoring/api/schemas';
import { PredictionIndex } from '../../lambdas/monitoring/labels/prediction-index';
import { readWindow } from '../../lambdas/monitoring/log/log-store';
import { histogramOf } from '../../lambdas/monitoring/report/histogram';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { LocalAlarms } from '../../local/alarms';
import { startCloudWatchApi } from '../../local/cloudwatch-api';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { scheduledTargets } from '../../local/scheduler';
import { readTemplate } from '../../local/template';
import { type TinyModel, trainTiny } from '../serving/support';
import { apiCall, serveWithProfile, tinyRows } from './support/served-model';

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe("the local runtime's GetMetricData, called with the AWS SDK", () => {
  let dir: string;
  let alarms: LocalAlarms;
  let api: Awaited<ReturnType<typeof startCloudWatchApi>>;
  let client: CloudWatchClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlops-cw-'));
    alarms = new LocalAlarms(readTemplate({ Resources: {} }), { dataDir: dir });
    api = await startCloudWatchApi(() => alarms);
    client = new CloudWatchClient({
      endpoint: api.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  afterAll(async () => {
    client?.destroy();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers each statistic per period of the exact dimension set, in the order asked', async () => {
    const minute = 60_000;
    const t0 = Math.floor(Date.now() / minute) * minute - 10 * minute;
    const emf = (t: number, version: string, latency: number) =>
      JSON.stringify({
        _aws: {
          Timestamp: t,
          CloudWatchMetrics: [
            { Namespace: 'NS', Dimensions: [['model', 'version']], Metrics: [{ Name: 'Latency' }] },
          ],
        },
        model: 'm',
        version,
        Latency: latency,
      });
    // Minute 0: 1..10 ms; minute 2: 100 and 300 ms; another version's values must not count.
    for (let i = 1; i <= 10; i++) alarms.ingest(emf(t0 + i * 1000, '1', i));
    alarms.ingest(emf(t0 + 2 * minute + 5, '1', 300));
    alarms.ingest(emf(t0 + 2 * minute + 1, '1', 100));
    alarms.ingest(emf(t0 + 30_000, '2', 9999));
    const reader = new CloudWatchMetricsReader(client);
    const q = (id: string, stat: string) => ({
      id,
      namespace: 'NS',
      metricName: 'Latency',
      dimensions: { model: 'm', version: '1' },
      stat,
    });
    const out = await reader.read([q('n', 'SampleCount'), q('s', 'Sum'), q('p', 'p50'), q('x', 'Maximum')], {
      start: t0,
      end: t0 + 5 * minute,
      periodSeconds: 60,
    });
    expect([...out.get('n')!]).toEqual([
      [t0, 10],
      [t0 + 2 * minute, 2],
    ]);
    expect([...out.get('s')!]).toEqual([
      [t0, 55],
      [t0 + 2 * minute, 400],
    ]);
    // Nearest rank, as CloudWatch computes percentiles of raw values.
    expect(out.get('p')!.get(t0)).toBe(5);
    expect(out.get('x')!.get(t0 + 2 * minute)).toBe(300);
    // A five-minute period puts both minutes in one point.
    const wide = await reader.read([q('n', 'SampleCount')], {
      start: t0 - 5 * minute,
      end: t0 + 10 * minute,
      periodSeconds: 300,
    });
    expect(sum([...wide.get('n')!.values()])).toBe(12);
  });

  it('refuses a statistic it does not compute with the error CloudWatch names', async () => {
    const reader = new CloudWatchMetricsReader(client);
    await expect(
      reader.read([{ id: 'a', namespace: 'NS', metricName: 'Latency', dimensions: {}, stat: 'tm99' }], {
        start: Date.now() - 60_000,
        end: Date.now(),
        periodSeconds: 60,
      }),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException', message: /statistic 'tm99'/ });
  });
});

describe("the report's histograms", () => {
  it('name the 15 most frequent categories and sum the rest in __other__, so each side sums to 1', () => {
    // c0..c19 with 10..29 values each; the current window has an unseen category on top.
    const base = new Map(Array.from({ length: 20 }, (_, i) => [`c${i}`, 10 + i] as const));
    const cur = new Map([...base, ['new', 500] as const]);
    const side = (c: Map<string, number>) => {
      const n = sum([...c.values()]);
      return { kind: 'categorical' as const, total: n + 5, missing: 5, n, counts: c };
    };
    const h = histogramOf('city', side(base), side(cur));
    expect(h.labels).toHaveLength(16);
    expect(h.labels.slice(0, 3)).toEqual(['new', 'c19', 'c18']);
    expect(h.labels.at(-1)).toBe('__other__');
    // The least frequent (c0..c5) are summed, not named.
    expect(h.labels.filter((l) => /^c[0-5]$/.test(l))).toEqual([]);
    expect(h.baseline[0]).toBe(0);
    expect(sum(h.baseline)).toBeCloseTo(1, 12);
    expect(sum(h.current)).toBeCloseTo(1, 12);
    expect(h.baseline.at(-1)).toBeCloseTo((10 + 11 + 12 + 13 + 14 + 15) / sum([...base.values()]), 12);
    expect(h.current.at(-1)).toBeCloseTo((10 + 11 + 12 + 13 + 14 + 15) / sum([...cur.values()]), 12);
    expect(h.edges).toBeNull();
  });
});

// The whole path on the local runtime, from the synthesized template: predictions through the
// API, the drift job started as its schedule starts it, labels and the performance job, and
// the read routes answering from the reports, the stored run and the metrics.
describe('the monitoring read routes on the local runtime', () => {
  const NAME = `mon-api-${Date.now().toString(36)}`;
  const ROWS = 2000;
  let rt: LocalRuntime;
  let dataDir: string;
  let model: TinyModel;
  const answers: { request_id: string; predictions: number[] }[] = [];

  const call = (method: string, path: string, body?: unknown) => apiCall(rt.url, method, path, body);

  beforeAll(async () => {
    model = trainTiny('gbdt', 5);
    dataDir = mkdtempSync(join(tmpdir(), 'mlops-mon-api-'));
    rt = await startLocalRuntime({
      port: 0,
      dataDir,
      inMemory: true,
      config: { serving: { modelName: NAME } },
    });
    await serveWithProfile(rt.url, NAME, model, tinyRows(5000, 1));
    // Traffic shifted by 1.5 standard deviations on spend, in four requests of 500 rows.
    const traffic = tinyRows(ROWS, 2, 15);
    for (let from = 0; from < ROWS; from += 500) {
      const res = await call('POST', `/v1/models/${NAME}/predict`, {
        instances: traffic.slice(from, from + 500),
      });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      answers.push(res.json);
    }
    const store = new FsObjectStore(join(rt.dataDir, 's3'));
    await until('the shipper to store the log', async () => {
      let n = 0;
      for await (const _ of readWindow(store, 'monitoring', NAME, Date.now() - 3_600_000, Date.now() + 1))
        n++;
      return n >= ROWS ? n : undefined;
    });
  }, 600_000);
  afterAll(async () => {
    await rt?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the routes on the labels function, which reads reports and runs and writes nothing in the bucket', () => {
    // biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are asserted by path
    const resources = rt.plan.template.Resources as Record<string, { Type: string; Properties?: any }>;
    const fn = [...rt.plan.functions.values()].find((f) => f.entry === 'lambdas/monitoring/api/handler.ts')!;
    const routes = rt.plan.routes
      .filter((r) => r.functionId === fn.logicalId)
      .map((r) => `${r.method} ${r.path}`);
    expect(routes.sort()).toEqual([
      'GET /v1/models/{name}/monitoring/drift',
      'GET /v1/models/{name}/monitoring/metrics',
      'GET /v1/models/{name}/monitoring/performance',
      'POST /v1/labels',
    ]);
    const roleOf = (id: string) => (resources[id]!.Properties.Role['Fn::GetAtt'] as string[])[0]!;
    const statements = (id: string) =>
      Object.values(resources)
        .filter(
          (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleOf(id)),
        )
        .flatMap(
          (r) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
        );
    const api = statements(fn.logicalId);
    const s3 = api.filter((x) => [x.Action].flat().some((a) => a.startsWith('s3:')));
    expect(s3.flatMap((x) => [x.Action].flat()).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
    const read = JSON.stringify(s3.find((x) => [x.Action].flat().includes('s3:GetObject'))!.Resource);
    expect(read).toContain('/reports/*');
    expect(read).toContain('/performance/*');
    expect(read).not.toContain('/predictions/');
    const metrics = api.find((x) => [x.Action].flat().includes('cloudwatch:GetMetricData'))!;
    expect([metrics.Action].flat()).toEqual(['cloudwatch:GetMetricData']);
    // The performance job may write its model's latest run and no other object of the bucket.
    const job = [...rt.plan.functions.values()].find(
      (f) => f.entry === 'lambdas/monitoring/performance/job-handler.ts',
    )!;
    const puts = statements(job.logicalId).filter((x) => [x.Action].flat().includes('s3:PutObject'));
    expect(JSON.stringify(puts.map((x) => x.Resource))).toContain(
      `/performance/model=${encodeURIComponent(NAME)}/latest.json`,
    );
    expect(puts).toHaveLength(1);
  });

  it('answers empty lists for a registered model nothing has monitored yet', async () => {
    const drift = await call('GET', `/v1/models/${NAME}/monitoring/drift`);
    expect(drift).toEqual({ status: 200, json: { model: NAME, reports: [], latest: null } });
    const perf = await call('GET', `/v1/models/${NAME}/monitoring/performance`);
    expect(perf.status).toBe(200);
    expect(perf.json).toMatchObject({
      model: NAME,
      generated_at: null,
      windows: [],
      versions: [],
      proxy: null,
    });
  });

  it("serves the drift job's report with the drifted feature flagged and histograms of shares", async () => {
    const target = scheduledTargets(rt.plan).find((t) => /DriftJob/.test(t.stateMachine))!;
    for (let i = 0; i < 2; i++) {
      const run = await rt.stepFunctions.run(target.stateMachine, {
        name: `schedule-${i}-${Date.now()}`,
        input: target.input as never,
      });
      expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
      // Reports are named by the run's millisecond: two runs never share one.
      await new Promise((r) => setTimeout(r, 5));
    }
    const res = await call('GET', `/v1/models/${NAME}/monitoring/drift`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const body = DriftReportsResponseSchema.parse(res.json);
    expect(body.reports).toHaveLength(2);
    expect(body.reports[0]!.generated_at > body.reports[1]!.generated_at).toBe(true);
    const latest = body.latest!;
    expect(latest.generated_at).toBe(body.reports[0]!.generated_at);
    expect(latest).toMatchObject({ version: '1', verdict: 'drift', drifted: true });
    expect(latest.window.rows).toBe(ROWS);
    const spend = latest.features.find((f) => f.name === 'spend')!;
    const plan = latest.features.find((f) => f.name === 'plan')!;
    expect(spend).toMatchObject({ kind: 'numeric', verdict: 'drift', drifted: true, method: 'wasserstein' });
    expect(spend.psi).toBeGreaterThan(0.2);
    expect(spend.ks_statistic).toBeGreaterThan(0.3);
    expect(spend.chi_square_p_value).toBeNull();
    // plan is drawn as at training: scored, not drifted.
    expect(plan).toMatchObject({
      kind: 'categorical',
      verdict: 'no_drift',
      drifted: false,
      ks_statistic: null,
    });
    expect(plan.jensen_shannon).toBeLessThan(0.1);
    expect(latest.reasons.join('; ')).toMatch(/psi\(spend\)=/);
    expect(latest.prediction?.name).toBe('prediction');

    const hist = latest.histograms.find((h) => h.name === 'spend')!;
    expect(hist.edges).toHaveLength(hist.labels.length + 1);
    expect(sum(hist.baseline_share)).toBeCloseTo(1, 9);
    expect(sum(hist.current_share)).toBeCloseTo(1, 9);
    // The current mass sits higher than the baseline's: its mean bin is to the right.
    const meanBin = (shares: number[]) => sum(shares.map((s, i) => s * i));
    expect(meanBin(hist.current_share)).toBeGreaterThan(meanBin(hist.baseline_share) + 3);
    const planHist = latest.histograms.find((h) => h.name === 'plan')!;
    expect(planHist.edges).toBeNull();
    expect([...planHist.labels].sort()).toEqual(['basic', 'pro', 'team']);
    expect(sum(planHist.current_share)).toBeCloseTo(1, 9);
    expect(sum(latest.prediction_histogram!.current_share)).toBeCloseTo(1, 9);
    expect(sum(latest.timeline.map((p) => p.count))).toBe(ROWS);

    // One report with a limit; one version's, or none of a version that never served.
    const one = await call('GET', `/v1/models/${NAME}/monitoring/drift?version=1&limit=1`);
    expect(one.json.reports).toHaveLength(1);
    expect(one.json.reports[0].generated_at).toBe(latest.generated_at);
    const other = await call('GET', `/v1/models/${NAME}/monitoring/drift?version=7`);
    expect(other.json).toEqual({ model: NAME, reports: [], latest: null });
  }, 300_000);

  it('serves the performance from delayed labels as the job scored and stored it', async () => {
    const ids = answers.map((a) => a.request_id);
    const index = new PredictionIndex(localDynamoClients(rt.dynamodbEndpoint).doc, 'prediction-index');
    await until('the prediction index to hold every request', async () =>
      (await index.requests(ids)).size === ids.length ? true : undefined,
    );
    // Outcomes that agree with the model on three rows out of four.
    const labels = answers.map((a) => ({
      request_id: a.request_id,
      label: a.predictions.map((p, i) => (p >= 0.5 === (i % 4 !== 0) ? 1 : 0)),
    }));
    const posted = await call('POST', '/v1/labels', { labels });
    expect(posted.status, JSON.stringify(posted.json)).toBe(200);
    const jobId = [...rt.plan.functions.values()].find(
      (f) => f.entry === 'lambdas/monitoring/performance/job-handler.ts',
    )!.logicalId;
    const report = (await rt.host.invoke(jobId, { minLabels: 50 })) as {
      windows: { version: string; labelledRows: number; metrics: { auc: number; accuracy: number } }[];
    };
    const scored = report.windows.find((w) => w.labelledRows > 0)!;

    const res = await call('GET', `/v1/models/${NAME}/monitoring/performance?version=1`);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const body = PerformanceResponseSchema.parse(res.json);
    expect(body.serving_version).toBe('1');
    expect(body.generated_at).not.toBeNull();
    const newest = body.windows[0]!;
    expect(newest).toMatchObject({
      version: '1',
      task: 'binary',
      rows: ROWS,
      labelled_rows: ROWS,
      labelled_share: 1,
      invalid_labels: 0,
    });
    expect(newest.metrics!.auc).toBe(scored.metrics.auc);
    expect(newest.metrics!.accuracy).toBeCloseTo(0.75, 2);
    expect(newest.metrics!.rmse).toBeNull();
    // The older windows of the lookback had no predictions: none are listed after it.
    expect(body.windows.every((w) => w.rows > 0)).toBe(true);
    expect(body.versions).toHaveLength(1);
    const limited = await call('GET', `/v1/models/${NAME}/monitoring/performance?limit=1`);
    expect(limited.json.windows).toHaveLength(1);
  }, 300_000);

  it('serves request count, error rate and latency per version from the metrics predict emits', async () => {
    // One more request the caller got wrong: rejected, not an error.
    const bad = await call('POST', `/v1/models/${NAME}/predict`, {
      instances: [{ spend: 'lots', plan: 'pro' }],
    });
    expect(bad.status).toBe(400);
    const read = async () => {
      const res = await call('GET', `/v1/models/${NAME}/monitoring/metrics?minutes=30&period=60`);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      return RequestMetricsResponseSchema.parse(res.json);
    };
    const body = await until('the requests to be counted', async () => {
      const b = await read();
      const points = b.series.find((s) => s.version === '1')?.points ?? [];
      return sum(points.map((p) => p.requests)) >= answers.length + 1 ? b : undefined;
    });
    expect(body).toMatchObject({ model: NAME, minutes: 30, period: 60 });
    const points = body.series.find((s) => s.version === '1')!.points;
    expect(sum(points.map((p) => p.requests))).toBe(answers.length + 1);
    expect(sum(points.map((p) => p.errors))).toBe(0);
    expect(sum(points.map((p) => p.rejected))).toBe(1);
    for (const p of points) {
      expect(p.error_rate).toBe(0);
      expect(Date.parse(p.timestamp) % 60_000).toBe(0);
      // Latency is of successful requests: a minute holding only the rejected one has none.
      if (p.requests > p.rejected) {
        expect(p.latency_p50_ms).toBeGreaterThan(0);
        expect(p.latency_p99_ms).toBeGreaterThanOrEqual(p.latency_p50_ms!);
      } else expect(p.latency_p50_ms).toBeNull();
    }
    expect(points.some((p) => p.latency_p50_ms !== null)).toBe(true);
  }, 180_000);

  it('answers 404 for an unknown model and 400 naming a bad parameter', async () => {
    for (const view of ['drift', 'performance', 'metrics']) {
      const res = await call('GET', `/v1/models/no-such-model/monitoring/${view}`);
      expect(res.status).toBe(404);
      expect(res.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
      expect(res.json.message).toMatch(/no-such-model/);
    }
    const bad = async (query: string, field: RegExp) => {
      const res = await call('GET', `/v1/models/${NAME}/monitoring/${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(res.json.message).toMatch(field);
    };
    await bad('drift?limit=0', /limit/);
    await bad('drift?limit=501', /limit/);
    await bad('drift?limit=ten', /limit/);
    await bad('drift?version=latest', /version/);
    await bad('drift?versoin=1', /versoin/);
    await bad('performance?limit=-3', /limit/);
    await bad('metrics?period=90', /period/);
    await bad('metrics?minutes=0', /minutes/);
    await bad('metrics?minutes=20160&period=60', /minutes.*period|period.*minutes/);
  });
});
