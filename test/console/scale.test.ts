import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDouble } from '../../lambdas/tracking/domain/order-key';
import { keys } from '../../lambdas/tracking/store/dynamo-keys';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { ARTIFACTS, launchChromium, openPage, screenshot } from './browser';
import { call } from './seed';

// 10,000 runs in one experiment, read by the console through runs/search like any client.
const RUNS = 10_000;
let runtime: LocalRuntime;
let dataDir: string;
let browser: Browser;
let experimentId: string;
const auc = (i: number) => ((i * 7919) % 1000) / 1000;
const runId = (i: number) => `r${String(i).padStart(31, '0')}`;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-console-scale-'));
  runtime = await startLocalRuntime({ port: 0, dataDir, inMemory: true, console: true });
  browser = await launchChromium();
  experimentId = (await call(runtime.url, 'POST', 'experiments/create', { name: 'console-10k' }))
    .experiment_id;
  // Seeded in the tracking store's own item shape (its key helpers and metric encoding),
  // 25 runs per BatchWriteItem: 400 writes instead of 30,000 API calls.
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: runtime.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  const item = (i: number) => {
    const info = {
      run_id: runId(i),
      run_name: `run-${i}`,
      experiment_id: experimentId,
      user_id: 'seed',
      status: 'FINISHED',
      start_time: 1_700_000_000_000 + i * 1000,
      artifact_uri: `mlflow-artifacts:/${experimentId}/${runId(i)}/artifacts`,
      lifecycle_stage: 'active',
    };
    return {
      ...keys.run(info.run_id),
      ...keys.runIndex(experimentId, info.start_time, info.run_id),
      info,
      params: { algorithm: i % 3 === 0 ? 'gbdt' : 'logistic', depth: String(i % 10) },
      tags: { 'mlflow.runName': info.run_name },
      metrics: {
        auc: { x: encodeDouble(auc(i)), t: 1, s: 0, o: '' },
        loss: { x: encodeDouble(1 - auc(i)), t: 1, s: 0, o: '' },
      },
      inputs: [],
    };
  };
  for (let i = 0; i < RUNS; i += 25) {
    const batch = Array.from({ length: Math.min(25, RUNS - i) }, (_, k) => item(i + k));
    let request: Record<string, unknown[]> | undefined = {
      tracking: batch.map((Item) => ({ PutRequest: { Item } })),
    };
    while (request && Object.keys(request).length) {
      const res = await db.send(new BatchWriteCommand({ RequestItems: request as never }));
      request = res.UnprocessedItems as Record<string, unknown[]> | undefined;
    }
  }
  db.destroy();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the console with 10,000 runs in an experiment', () => {
  it('renders the runs table virtualized, pages on scroll, and sorts on the server', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${runtime.consoleUrl}#/experiments/${experimentId}`);
    await page.waitForSelector('.runs-row', { timeout: 60_000 });
    await page.waitForFunction(() => performance.getEntriesByName('runs-table-first-render').length > 0);
    // Measured in the browser: reported, not asserted (a loaded machine would make it flaky).
    const [fromPage, fromNavigation, api] = await page.evaluate(() =>
      ['runs-table-first-render', 'runs-table-first-render-from-navigation', 'runs-first-page-api'].map(
        (n) => performance.getEntriesByName(n)[0]?.duration ?? Number.NaN,
      ),
    );
    console.log(
      `runs table first render with ${RUNS} runs: ${fromPage?.toFixed(0)} ms from the page's start ` +
        `(of which ${api?.toFixed(0)} ms waiting for runs/search), ${fromNavigation?.toFixed(0)} ms from navigation`,
    );
    await screenshot(page, 'runs-10k');
    // The same page loaded again, with the API's function and the store warm.
    await page.reload();
    await page.waitForFunction(() => performance.getEntriesByName('runs-table-first-render').length > 0);
    const warm = await page.evaluate(
      () => performance.getEntriesByName('runs-table-first-render')[0]?.duration,
    );
    console.log(`  loaded again: ${warm?.toFixed(0)} ms from the page's start`);
    const timings = {
      runs: RUNS,
      firstRenderMs: fromPage,
      firstPageApiMs: api,
      fromNavigationMs: fromNavigation,
      reloadedMs: warm,
    };
    writeFileSync(join(ARTIFACTS, 'console-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);

    // Virtualized: a few dozen rows in the DOM for the first page of 500.
    const rows = () => page.$$eval('.runs-row', (r) => r.length);
    expect(await page.textContent('[data-testid=runs-count]')).toContain('100+');
    expect(await rows()).toBeLessThan(100);
    // Newest first by default: the last seeded run is on top.
    expect(await page.textContent('.runs-row a')).toBe(`run-${RUNS - 1}`);
    // Scrolling to the end loads the next page through runs/search; the DOM stays small.
    // (A page can come back short when the search runs out of its time budget: keep scrolling.)
    // Browser-side code as text: the tests compile without the DOM's types.
    await page.waitForFunction(
      `(document.querySelector('.vt').scrollTo(0, 1e9), parseInt(document.querySelector('[data-testid=runs-count]').textContent, 10) >= 1600)`,
      undefined,
      { polling: 250, timeout: 120_000 },
    );
    expect(await rows()).toBeLessThan(100);
    // Sorting by a metric is an order_by of runs/search over all 10,000, not of the loaded page.
    await page.click('button.sort:text-is("auc")');
    await page.waitForSelector('button.sort[data-sorted=DESC]:text-is("auc ▼")');
    const best = Math.max(...Array.from({ length: RUNS }, (_, i) => auc(i)));
    await page.waitForFunction(
      `document.querySelector('.runs-row .num')?.textContent === ${JSON.stringify(best.toFixed(4))}`,
    );
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('renders every page with 10,000 runs in the experiment', async () => {
    for (const [hash, ready, name] of [
      ['#/experiments', 'table.data', 'experiments-10k'],
      [`#/runs/${runId(42)}`, 'table.kv', 'run-10k'],
      [`#/compare?runs=${runId(1)},${runId(2)}`, 'table.param-diff', 'compare-10k'],
      [
        `#/experiments/${experimentId}?filter=${encodeURIComponent("params.algorithm = 'gbdt' and metrics.auc > 0.99")}`,
        '.runs-row',
        'runs-filtered-10k',
      ],
      ['#/models', 'main p', 'models-10k'],
      ['#/deployments', 'main p', 'deployments-10k'],
      ['#/ab', 'main p', 'ab-10k'],
      ['#/monitoring', 'main .note', 'monitoring-10k'],
      ['#/features', 'main .note', 'features-10k'],
    ] as const) {
      const { page, errors } = await openPage(browser);
      await page.goto(`${runtime.consoleUrl}${hash}`);
      await page.waitForSelector(ready, { timeout: 60_000 });
      await screenshot(page, name);
      expect(errors, hash).toEqual([]);
      await page.context().close();
    }
  });
});
