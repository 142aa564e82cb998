import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Where each run writes the pages' screenshots (gitignored). */
export const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

/** Debian's Chromium (`apt-get install chromium`): `CHROMIUM_PATH`, else the one on PATH. */
export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
      encoding: 'utf8',
    }).trim();
    if (found) return found;
  } catch {
    // Falls through to the message below.
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  throw new Error('No Chromium: install it (apt-get install -y chromium) or set CHROMIUM_PATH');
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Containers run as root without user namespaces; /dev/shm is often small.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/**
 * A page that records console errors, page errors, failed requests, 5xx answers and 4xx
 * answers for the console's files, for the no-error checks.
 */
export async function openPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    // Chromium logs every 4xx fetch as "Failed to load resource"; answers are judged below by URL.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      errors.push(`console: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    // A 5xx is an error anywhere; a 4xx of the console's own files too. An API's 4xx is an
    // answer the page shows (no registry yet, a bad filter), which each test checks.
    const own = new URL(r.url()).pathname.startsWith('/console');
    if (r.status() >= 500 || (own && r.status() >= 400)) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { page, errors };
}

/** Opens `url` (a console route) in a new recording page and waits for `ready` to show. */
export async function visitPage(
  browser: Browser,
  url: string,
  ready: string,
): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(browser);
  await opened.page.goto(url);
  await opened.page.waitForSelector(ready, { timeout: 60_000 });
  return opened;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
}

/** Waits until the runs table holds exactly `n` rows in the DOM. */
export async function waitForRows(page: Page, n: number): Promise<void> {
  // Browser-side code as text: the tests compile without the DOM's types.
  await page.waitForFunction(`document.querySelectorAll('.runs-row').length === ${n}`);
}
