import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRegistry } from '../../lambdas/features/definitions/feature-registry-store';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { trainTiny } from '../serving/support';
import { launchChromium, screenshot, visitPage, waitForRows } from './browser';
import {
  call,
  eventually,
  type Json,
  pngImage,
  putArtifact,
  registerVersion,
  type SeededRun,
  seedRuns,
} from './seed';

// The console as `mlops up` serves it, on a runtime seeded through the public API.
let runtime: LocalRuntime;
let dataDir: string;
let browser: Browser;
let experimentId: string;
let runs: SeededRun[];
const MODEL = `console-${Date.now().toString(36)}`;
const AB = `${MODEL}-ab`;
const ROLLBACK_REASON = 'error rate above 1% after promotion';
const UNITS = Array.from({ length: 40 }, (_, i) => `user-${i}`);

/**
 * The served model's story through the public API: two versions, a stage and an alias, both
 * canary-deployed by the template's workflow, the second rolled back; an A/B test of the
 * two with exposures and outcomes, and the second as a shadow.
 */
async function seedLifecycle(base: string) {
  await call(base, 'POST', 'registered-models/create', { name: MODEL });
  const training = (await call(base, 'POST', 'experiments/create', { name: `${MODEL}-training` }))
    .experiment_id;
  const control = trainTiny('gbdt', 11);
  const v1 = await registerVersion(base, MODEL, training, control);
  const v2 = await registerVersion(base, MODEL, training, trainTiny('logistic', 5));
  await call(base, 'POST', 'model-versions/transition-stage', {
    name: MODEL,
    version: v1,
    stage: 'Production',
  });
  await call(base, 'POST', 'registered-models/alias', { name: MODEL, alias: 'champion', version: v1 });
  const machine = [...runtime.stepFunctions.machines.keys()].find((k) => k.includes('ServingDeployment'));
  if (!machine) throw new Error('the template has no deployment state machine');
  const canaries: [string, number[]][] = [
    [v1, [100]],
    [v2, [25, 100]],
  ];
  for (const [version, steps] of canaries) {
    const execution = await runtime.stepFunctions.run(machine, {
      name: `deploy-${MODEL}-${version}-${Date.now()}`,
      input: { request: { model: MODEL, version, steps, bakeSeconds: 0 } },
    });
    if (execution.status !== 'SUCCEEDED')
      throw new Error(`deploy v${version}: ${JSON.stringify(execution.error)}`);
  }
  await call(base, 'POST', `/v1/deployments/${MODEL}/rollback`, { reason: ROLLBACK_REASON });

  await call(base, 'POST', `/v1/models/${MODEL}/shadow`, { version: v2 });
  await call(base, 'POST', '/v1/experiments', {
    name: AB,
    model: MODEL,
    control_version: v1,
    treatment_version: v2,
    allocation: { control: 0.5, treatment: 0.5 },
    salt: 'console',
  });
  for (const unit of UNITS) {
    await call(base, 'POST', `/v1/models/${MODEL}/predict`, {
      unit_id: unit,
      instances: control.rows.slice(0, 2),
    });
  }
  // Exposures come from the prediction log through the template's log subscription.
  await eventually('exposures of every unit', async () => {
    await runtime.logSubscriptions.flush();
    const a: Json = await call(base, 'GET', `/v1/experiments/${AB}/analysis`);
    return a.variants.reduce((n: number, v: Json) => n + v.units, 0) === UNITS.length ? a : undefined;
  });
  const outcomes = UNITS.filter((_, i) => i % 3 === 0).map((unit, i) => ({
    outcome_id: `${unit}-o`,
    unit_id: unit,
    converted: true,
    value: 10 + i,
    timestamp: '2026-01-02T03:04:05Z',
  }));
  await call(base, 'POST', `/v1/experiments/${AB}/outcomes`, { outcomes });
  await eventually('shadow pairs', async () => {
    await runtime.logSubscriptions.flush();
    const r = await fetch(`${base}/v1/models/${MODEL}/shadow/report`);
    return r.ok && ((await r.json()) as Json).rows > 0 ? true : undefined;
  });
}

/** A feature repo applied as `mlops features apply` stores it, and one pushed row online. */
async function seedFeatures(base: string) {
  const repo = buildRepo({
    file: {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
      sources: [
        {
          name: 'profiles',
          kind: 'push',
          columns: [
            { name: 'user_id', type: 'int64' },
            { name: 'ts', type: 'timestamp' },
            { name: 'plan', type: 'string' },
          ],
        },
        {
          name: 'orders',
          kind: 'push',
          columns: [
            { name: 'user_id', type: 'int64' },
            { name: 'ts', type: 'timestamp' },
            { name: 'amount', type: 'float64' },
          ],
        },
      ],
      featureViews: [
        {
          name: 'profile',
          entities: ['user'],
          source: 'profiles',
          timestampField: 'ts',
          features: [{ name: 'plan', type: 'string' }],
        },
        {
          name: 'orders',
          entities: ['user'],
          source: 'orders',
          timestampField: 'ts',
          ttl: '30d',
          features: [{ name: 'amount', type: 'float64' }],
          aggregations: [{ name: 'order_count_7d', function: 'count', window: '7d' }],
        },
      ],
      featureServices: [{ name: 'churn', features: ['profile:plan', 'orders:order_count_7d'] }],
    },
  });
  await writeRegistry(new FsObjectStore(join(runtime.dataDir, 's3')), 'features', repo, 0);
  await call(base, 'POST', '/features/push', {
    push_source_name: 'profiles',
    df: { user_id: [7], ts: [PUSHED_AT], plan: ['pro'] },
    to: 'online',
  });
}
const PUSHED_AT = '2026-01-02T03:04:05.000Z';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-console-'));
  runtime = await startLocalRuntime({
    port: 0,
    dataDir,
    inMemory: true,
    console: true,
    config: { serving: { modelName: MODEL } },
  });
  browser = await launchChromium();
  ({ experimentId, runs } = await seedRuns(runtime.url, 'console-runs', 12));
  const first = await call(runtime.url, 'GET', `runs/get?run_id=${runs[0]?.runId}`);
  await putArtifact(runtime.url, first.run.info.artifact_uri, 'plots/roc.png', pngImage());
  await putArtifact(runtime.url, first.run.info.artifact_uri, 'notes.txt', 'trained on the demo data');
  await seedLifecycle(runtime.url);
  await seedFeatures(runtime.url);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Opens a console route and waits for `ready` to show; returns the errors seen on the way. */
const visit = (hash: string, ready: string) => visitPage(browser, `${runtime.consoleUrl}${hash}`, ready);

describe('the console served by the local runtime', () => {
  it('is at /console with a config.json that points at this API', async () => {
    const redirect = await fetch(`${runtime.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/console/');
    const config = await (await fetch(`${runtime.url}/console/config.json`)).json();
    expect(config).toEqual({ apiUrl: runtime.url, auth: 'none' });
    const html = await (await fetch(`${runtime.url}/console/`)).text();
    // Nothing fetched from elsewhere: every script and stylesheet is relative.
    expect(html).toMatch(/<script type="module" crossorigin src="\.\/assets\/[^"]+\.js">/);
    expect(html).not.toMatch(/https?:\/\//);
    // A path that decodes to outside the build is refused (fetch would resolve a plain `..`).
    const outside = await fetch(`${runtime.url}/console/..%2f..%2fpackage.json`);
    expect(outside.status).toBe(404);
    expect(await outside.text()).not.toContain('"name"');
  });

  it('lists an experiment’s runs, and a filter in MLflow’s grammar narrows the table', async () => {
    const { page, errors } = await visit(`#/experiments/${experimentId}`, '.runs-row');
    await waitForRows(page, runs.length);
    await screenshot(page, 'runs');
    await page.fill('input[name=filter]', "params.algorithm = 'gbdt' and metrics.auc > 0.72");
    await page.click('form.filter button[type=submit]');
    const expected = runs
      .filter((r, i) => r.algorithm === 'gbdt' && 0.7 + i * 0.01 > 0.72)
      .map((r) => r.name);
    await waitForRows(page, expected.length);
    const names = await page.$$eval('.runs-row a', (as) => as.map((a) => a.textContent));
    expect(names.sort()).toEqual(expected.sort());
    // The filter is in the address, so the narrowed table can be shared.
    const hashQuery = new URLSearchParams(new URL(page.url()).hash.split('?')[1]);
    expect(hashQuery.get('filter')).toBe("params.algorithm = 'gbdt' and metrics.auc > 0.72");
    // A mistake in the filter shows the API's message, not a broken page.
    await page.fill('input[name=filter]', 'metrics.auc >>> 1');
    await page.click('form.filter button[type=submit]');
    await page.waitForSelector('[role=alert]');
    expect(await page.textContent('[role=alert]')).toMatch(/./);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('draws one curve per selected run on the comparison page, with the parameter diff', async () => {
    const chosen = runs.slice(0, 3);
    const { page, errors } = await visit(`#/experiments/${experimentId}`, '.runs-row');
    for (const r of chosen) await page.check(`.runs-row[data-run-id="${r.runId}"] input[type=checkbox]`);
    await page.click('text=Compare 3');
    await page.waitForSelector('.curve[data-metric=loss] .u-legend');
    // uPlot's legend: the x series, then one row per drawn series.
    const series = await page.$$eval('.curve[data-metric=loss] .u-legend .u-series', (rows) =>
      rows.map((r) => r.textContent?.trim()),
    );
    expect(series.length).toBe(chosen.length + 1);
    for (const r of chosen) expect(series.join(' ')).toContain(r.name);
    const diff = await page.$$eval('table.param-diff tbody th', (ths) => ths.map((t) => t.textContent));
    expect(diff).toEqual(['algorithm', 'learning_rate']);
    await page.waitForSelector('text=auc against');
    await screenshot(page, 'compare');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows a run’s params, metrics, tags and its image artifact inline', async () => {
    const { page, errors } = await visit(`#/runs/${runs[0]?.runId}`, 'img.artifact');
    const size = await page.$eval('img.artifact', (img) => [
      (img as unknown as { naturalWidth: number }).naturalWidth,
      (img as unknown as { naturalHeight: number }).naturalHeight,
    ]);
    expect(size).toEqual([32, 16]);
    expect(await page.textContent('main')).toContain('learning_rate');
    await page.waitForSelector('text=trained on the demo data');
    await screenshot(page, 'run');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows the registry: versions, stages, aliases and the transition history', async () => {
    const { page, errors } = await visit(`#/models/${MODEL}`, 'table.transitions');
    const versions = await page.$$eval('table.versions tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent?.trim())),
    );
    expect(versions).toEqual([
      ['v2', 'None', ''],
      ['v1', 'Production', '@champion'],
    ]);
    const transitions = await page.textContent('table.transitions');
    expect(transitions).toContain('Production');
    expect(transitions).toContain('@champion');
    await screenshot(page, 'model');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('puts the rollback on the deployment timeline, after the canary steps', async () => {
    const { page, errors } = await visit(`#/deployments/${MODEL}`, 'ul.timeline');
    const events = await page.$$eval('ul.timeline li', (lis) =>
      lis.map((li) => li.getAttribute('data-kind')),
    );
    expect(events.filter((k) => k === 'step').length).toBe(3);
    expect(events[events.length - 1]).toBe('rolled_back');
    expect(await page.textContent('ul.timeline li.rollback')).toContain(`v2 rolled back: ${ROLLBACK_REASON}`);
    // All traffic is back on v1.
    const weights = await page.$$eval('table.weights tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent?.trim())),
    );
    expect(weights).toEqual([[expect.any(String), 'v1', '100%']]);
    await screenshot(page, 'deployments');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows the A/B analysis with its intervals and decision, and the shadow report', async () => {
    const { page, errors } = await visit(`#/ab?model=${MODEL}`, 'table.analysis');
    const decision = await page.textContent('.ab .decision');
    expect(['promote', 'stop', 'keep_running']).toContain(decision?.trim());
    expect(await page.textContent('table.analysis')).toMatch(/\[[^\]]+, [^\]]+\]/);
    await page.waitForSelector('text=Shadow v2');
    await screenshot(page, 'ab-shadow');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows the feature registry with each view’s materialization freshness', async () => {
    const registry = await call(runtime.url, 'GET', '/features/registry');
    expect(registry.materialization).toEqual(
      expect.arrayContaining([
        { view: 'profile', materialized_until: null, newest_event: PUSHED_AT, running: false },
        { view: 'orders', materialized_until: null, newest_event: null, running: false },
      ]),
    );
    expect(registry.materialization).toHaveLength(2);
    const { page, errors } = await visit('#/features', 'table.views');
    expect(await page.textContent('table.entities')).toContain('user_id (int64)');
    expect(await page.textContent('table.services')).toContain('profile:plan, orders:order_count_7d');
    expect(await page.textContent('tr[data-view=profile]')).toContain('2026-01-02 03:04:05');
    expect(await page.textContent('tr[data-view=orders] .freshness')).toBe('never');
    await screenshot(page, 'features');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('opens every other page without errors', async () => {
    for (const [hash, ready, name] of [
      ['#/experiments', 'table.data', 'experiments'],
      ['#/models', 'table.data', 'models'],
      ['#/deployments', 'main li', 'deployments-list'],
      [`#/monitoring/${MODEL}`, 'main .note', 'monitoring'],
    ] as const) {
      const { page, errors } = await visit(hash, ready);
      await screenshot(page, name);
      expect(errors, hash).toEqual([]);
      await page.context().close();
    }
  });
});
