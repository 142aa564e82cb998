import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWindow } from '../../lambdas/monitoring/log/log-store';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { createRng } from '../../lambdas/training/random';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { scheduledEvent, scheduledFunctions, scheduledTargets } from '../../local/scheduler';
import { type Row, serveWithProfile } from '../monitoring/support/served-model';
import { type TinyModel, trainTiny } from '../serving/support';
import { launchChromium, screenshot, visitPage } from './browser';
import { call, eventually, type Json } from './seed';

// A served model whose traffic moved on one feature (spend, by one standard deviation) and not
// on the other (plan); the drift job run twice as its schedule runs it, labels posted and the
// performance job run, then the console's monitoring page read through the public API.
const MODEL = `monitor-${Date.now().toString(36)}`;
const TRAFFIC = 1000;
let runtime: LocalRuntime;
let dataDir: string;
let browser: Browser;
let model: TinyModel;

/** Rows as the tiny model was trained on (spend ~ N(50, 10), 10% missing; plan uniform), spend moved by `shift`, with a label by the same rule. */
function rows(n: number, seed: number, shift = 0): { row: Row; label: number }[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const spend = rng.normal() * 10 + 50 + shift;
    const plan = ['basic', 'pro', 'team'][rng.int(3)] as string;
    const p = 1 / (1 + Math.exp(-(0.2 * (spend - 50) + (plan === 'pro' ? 1.5 : -0.5))));
    return { row: { spend: rng.next() < 0.1 ? null : spend, plan }, label: rng.next() < p ? 1 : 0 };
  });
}

/** The tiny model registered with the baseline profile training logs, served as Production. */
const register = (base: string) =>
  serveWithProfile(
    base,
    MODEL,
    model,
    rows(3000, 1).map((r) => r.row),
    { test_auc: 0.8 },
  );

/** Shifted traffic through the predict route, stored by the shipper; returns each request's id and labels. */
async function serve(base: string) {
  const traffic = rows(TRAFFIC, 2, 10);
  const requests: { request_id: string; label: number[] }[] = [];
  for (let from = 0; from < traffic.length; from += 250) {
    const part = traffic.slice(from, from + 250);
    const answer = await call(base, 'POST', `/v1/models/${MODEL}/predict`, {
      instances: part.map((r) => r.row),
    });
    requests.push({ request_id: answer.request_id, label: part.map((r) => r.label) });
  }
  const store = new FsObjectStore(join(runtime.dataDir, 's3'));
  await eventually('the shipper to store the log', async () => {
    await runtime.logSubscriptions.flush();
    let n = 0;
    for await (const _ of readWindow(store, 'monitoring', MODEL, Date.now() - 3_600_000, Date.now() + 1)) n++;
    return n >= traffic.length ? n : undefined;
  });
  return requests;
}

/** The drift job's state machine, started as its EventBridge schedule starts it. */
async function runDriftJob() {
  const target = scheduledTargets(runtime.plan).find((t) => /DriftJob/.test(t.stateMachine));
  if (!target) throw new Error('the template has no scheduled drift job');
  const run = await runtime.stepFunctions.run(target.stateMachine, {
    name: `schedule-${Date.now()}`,
    input: target.input as never,
  });
  if (run.status !== 'SUCCEEDED') throw new Error(`drift job: ${JSON.stringify(run.error)}`);
}

/** Labels through POST /v1/labels, then the performance job as its schedule invokes it. */
async function label(base: string, requests: { request_id: string; label: number[] }[]) {
  await eventually('the predictions to be indexed', async () => {
    await runtime.logSubscriptions.flush();
    const res = await fetch(`${base}/v1/labels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ labels: requests }),
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`labels: ${res.status} ${await res.text()}`);
    return true;
  });
  const job = scheduledFunctions(runtime.plan).find((f) => /Performance/.test(f.functionId));
  if (!job) throw new Error('the template has no scheduled performance job');
  await runtime.lambda.invoke(job.functionId, undefined, job.input ?? scheduledEvent(job.rule, new Date()));
}

beforeAll(async () => {
  model = trainTiny('gbdt', 5);
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-console-monitoring-'));
  runtime = await startLocalRuntime({
    port: 0,
    dataDir,
    inMemory: true,
    console: true,
    config: { serving: { modelName: MODEL } },
  });
  browser = await launchChromium();
  await register(runtime.url);
  const requests = await serve(runtime.url);
  // Two runs: the scores-over-time chart has a line per feature, not a lone point.
  await runDriftJob();
  await runDriftJob();
  await label(runtime.url, requests);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Opens a console route and waits for `ready` to show; returns the errors seen on the way. */
const visit = (hash: string, ready: string) => visitPage(browser, `${runtime.consoleUrl}${hash}`, ready);

/** Canvases uPlot drew under `selector` (one per chart). */
const canvases = (page: Page, selector: string) => page.$$eval(`${selector} canvas`, (cs) => cs.length);

describe('the monitoring page', () => {
  it('highlights the shifted feature, not the unshifted one, and draws drift, distributions, latency and performance', async () => {
    const drift: Json = await call(runtime.url, 'GET', `/v1/models/${MODEL}/monitoring/drift`);
    expect(drift.reports).toHaveLength(2);
    expect(drift.latest.features.find((f: Json) => f.name === 'spend').drifted).toBe(true);

    const { page, errors } = await visit(`#/monitoring/${MODEL}`, 'table.drift-features');
    expect(await page.getAttribute('tr[data-feature=spend]', 'data-drifted')).toBe('true');
    expect(await page.getAttribute('tr[data-feature=spend]', 'class')).toContain('drifted');
    expect(await page.textContent('tr[data-feature=spend]')).toContain('drifted');
    expect(await page.getAttribute('tr[data-feature=plan]', 'data-drifted')).toBe('false');
    expect(await page.getAttribute('tr[data-feature=plan]', 'class')).not.toContain('drifted');

    // PSI per feature over the two reports: one line per feature and the prediction.
    await page.waitForSelector('.drift-scores canvas');
    const legend = await page.$$eval('.drift-scores .u-legend .u-series .u-label', (labels) =>
      labels.map((l) => l.textContent?.trim()),
    );
    expect(legend.slice(1)).toEqual(['spend', 'plan', 'prediction']);
    // The drifted feature's histogram is shown first; baseline and current bars, and the predictions'.
    await page.waitForSelector('text=spend: baseline against current');
    expect(await canvases(page, '.grid2')).toBeGreaterThanOrEqual(2);
    // Latency and error rate of the last hour, from the request metrics.
    await page.waitForSelector('.request-metrics canvas');
    expect(await page.textContent('table.request-totals')).toMatch(/v1\s*\d+/);
    // Performance from the labels: v1 with its labelled rows and an AUC.
    await page.waitForSelector('table.performance');
    expect(await page.textContent('table.performance')).toContain(`${TRAFFIC} (100.0%)`);

    // Another score, kept in the address so the view can be shared.
    await page.selectOption('select[name=score]', 'ks');
    await page.waitForSelector('text=KS statistic per feature');
    expect(new URL(page.url()).hash).toContain('score=ks');
    await page.selectOption('select[name=score]', 'psi');
    await page.waitForSelector('text=PSI per feature');
    await screenshot(page, 'monitoring-drift');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('says what to run when a model has no drift report, performance or traffic yet', async () => {
    await call(runtime.url, 'POST', 'registered-models/create', { name: `${MODEL}-idle` });
    const { page, errors } = await visit(`#/monitoring/${MODEL}-idle`, 'text=No drift report yet');
    expect(await page.textContent('main')).toContain('mlops monitor run');
    await page.waitForSelector('text=No request in the last hour');
    await page.waitForSelector('text=No performance from labels yet');
    await screenshot(page, 'monitoring-empty');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
