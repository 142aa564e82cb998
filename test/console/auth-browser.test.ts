import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signApiCall } from '../../console/src/auth/sign';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { launchChromium, openPage, screenshot } from './browser';

let rt: LocalRuntime;
let dataDir: string;
let browser: Browser;
const EXPERIMENT = 'signed-in-sees-this';

function key(role: string) {
  const c = rt.credentials?.find((x) => x.role === role);
  if (!c) throw new Error(`no local key for ${role}`);
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-console-signin-'));
  // `mlops up --auth` with the console (built first when stale): slow on a busy machine.
  rt = await startLocalRuntime({ port: 0, dataDir, inMemory: true, auth: true, console: true });
  const url = new URL('/api/2.0/mlflow/experiments/create', rt.url);
  const body = JSON.stringify({ name: EXPERIMENT });
  const headers = { 'content-type': 'application/json' };
  const signed = await signApiCall(
    url,
    { method: 'POST', headers, body },
    key('data-scientist'),
    'us-east-1',
  );
  const res = await fetch(url, { method: 'POST', headers: { ...headers, ...signed }, body });
  expect(res.status).toBe(200);
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('console sign-in in the browser (mlops up --auth)', () => {
  it('goes to sign-in without keys, shows data after signing in, and back to sign-in with broken keys', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${rt.consoleUrl}#/experiments`);
    await page.waitForSelector('input[name="accessKeyId"]').catch(async (e) => {
      console.log('sign-in page not reached', page.url(), errors);
      throw e;
    });
    expect(new URL(page.url()).hash).toBe(`#/sign-in?return=${encodeURIComponent('/experiments')}`);
    await screenshot(page, 'sign-in');

    const ds = key('data-scientist');
    await page.fill('input[name="accessKeyId"]', ds.accessKeyId);
    await page.fill('input[name="secretAccessKey"]', ds.secretAccessKey);
    await page.click('button[type="submit"]');
    await page.waitForSelector(`text=${EXPERIMENT}`);
    expect(new URL(page.url()).hash).toBe('#/experiments');

    // A stored key whose secret no longer matches: the API refuses the signature.
    await page.evaluate(`(() => {
      const c = JSON.parse(sessionStorage.getItem('mlops-console-credentials'));
      sessionStorage.setItem('mlops-console-credentials', JSON.stringify({ ...c, secretAccessKey: 'corrupted' }));
    })()`);
    await page.goto(`${rt.consoleUrl}#/models`);
    await page.reload();
    await page.waitForSelector('input[name="accessKeyId"]');
    expect(new URL(page.url()).hash).toBe(`#/sign-in?return=${encodeURIComponent('/models')}`);
    // The refused keys are forgotten, not retried.
    expect(await page.evaluate(`sessionStorage.getItem('mlops-console-credentials')`)).toBeNull();
    await page.context().close();
  }, 300_000);

  it('loads the Cognito sign-in code in the browser (its SDK expects Node globals)', async () => {
    const chunk = readdirSync(join(import.meta.dirname, '..', '..', 'console', 'dist', 'assets')).find((f) =>
      /^cognito-.*\.js$/.test(f),
    );
    expect(chunk).toBeDefined();
    const { page, errors } = await openPage(browser);
    await page.goto(`${rt.consoleUrl}#/sign-in`);
    const exported = await page.evaluate(`import('./assets/${chunk}').then((m) => Object.keys(m).length)`);
    expect(exported).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);
});
