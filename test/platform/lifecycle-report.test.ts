import { writeFileSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShadowReportAnswer } from '../../lambdas/experiments/shadow/service';
import { computeDrift, type TableReader } from '../../lambdas/monitoring/drift/run-drift';
import { renderDriftHtml } from '../../lambdas/monitoring/report/drift-html';
import {
  type LifecycleReportData,
  loadLifecycleReport,
  renderLifecycleReport,
} from '../../lambdas/platform/lifecycle-report';
import { trafficTimeline } from '../../lambdas/platform/lifecycle-report/timeline';
import type { ComparedRun } from '../../lambdas/tracking/report/compare-data';
import { trainTiny, useServingRuntime } from '../serving/support';

const SECTIONS = ['steps', 'runs', 'registry', 'deployments', 'ab', 'shadow', 'drift', 'performance'];

let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
});

/**
 * Parses the page in Chromium with every request refused, and answers what the DOM holds:
 * the sections as direct children of <main> (an unclosed tag would swallow the ones after it),
 * and any request the page tried (a self-contained page makes none).
 */
async function parseInBrowser(html: string) {
  browser ??= await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const page = await browser.newPage();
  const requests: string[] = [];
  await page.route('**/*', (route) => {
    requests.push(route.request().url());
    return route.abort();
  });
  try {
    await page.setContent(html, { waitUntil: 'load' });
    // Browser-side code as text: the tests compile without the DOM's types.
    const dom = (await page.evaluate(`(() => ({
      sections: [...document.querySelectorAll('main > section')].map((s) => [s.id, s.querySelector(':scope > h2')?.textContent ?? '']),
      svgs: document.querySelectorAll('svg').length,
      inSvg: document.querySelectorAll('svg path, svg rect, svg circle, svg line').length,
      tables: [...document.querySelectorAll('table')].every((t) => t.closest('section') !== null),
      versionLines: Object.fromEntries([...document.querySelectorAll('#deployments path[data-version]')].map((p) => [p.getAttribute('data-version'), p.getAttribute('data-points')])),
      decision: document.querySelector('#ab [data-decision]')?.getAttribute('data-decision') ?? null,
      text: Object.fromEntries([...document.querySelectorAll('main > section')].map((s) => [s.id, s.textContent])),
    }))()`)) as {
      sections: [string, string][];
      svgs: number;
      inSvg: number;
      tables: boolean;
      versionLines: Record<string, string>;
      decision: string | null;
      text: Record<string, string>;
    };
    return { ...dom, requests };
  } finally {
    await page.close();
  }
}

/** The weights of a version's line, in time order (`data-points="<ms>:<percent> ..."`). */
const weightsOf = (points: string | undefined) =>
  (points ?? '').split(' ').map((p) => Number(p.split(':')[1]));

/** Nothing the page would fetch or run: no script, no external resource, only in-page links. */
function expectSelfContained(html: string, apiUrl: string) {
  expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|url\(/i);
  expect([...html.matchAll(/href="([^"]*)"/g)].every((m) => m[1]?.startsWith('#'))).toBe(true);
  // The API's address is named as text, once; no other address appears but SVG's namespace.
  expect(html.replace(`<code>${apiUrl}</code>`, '')).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg")/);
}

/** A table in memory, read through the drift job's table port. */
function memoryTable(label: string, cols: Record<string, number[] | string[]>): TableReader {
  const rows = Object.values(cols)[0]?.length ?? 0;
  return {
    label,
    async describe() {
      return {
        rows,
        columns: new Map(
          Object.entries(cols).map(([k, v]) => [
            k,
            { present: v.length, nonNumeric: typeof v[0] === 'number' ? 0 : v.length },
          ]),
        ),
      };
    },
    async scan(_types, onBatch) {
      onBatch(
        new Map(
          Object.entries(cols).map(([k, v]) => [
            k,
            typeof v[0] === 'number' ? Float64Array.from(v as number[]) : (v as string[]),
          ]),
        ),
      );
    },
  };
}

describe('the lifecycle report, rendered from given data', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 11, 4, 10, 0, s)).toISOString();
  const records: Record<string, string>[] = [
    {
      version: '1',
      status: 'live',
      lambda_version: '2',
      previous_lambda_version: '1',
      variant: 'green',
      traffic: '100',
      started_at: t(0),
      steps: `50%@${t(10)},100%@${t(20)}`,
      promoted_at: t(20),
    },
    {
      version: '2',
      status: 'rolled_back',
      lambda_version: '3',
      previous_lambda_version: '2',
      variant: 'blue',
      traffic: '0',
      started_at: t(30),
      steps: `10%@${t(40)}`,
      rolled_back_at: t(45),
      rollback_reason: 'alarm at 10% traffic: ErrorRate > 1% <blue>',
    },
  ];
  const run = (id: string, auc: number): ComparedRun => ({
    run: {
      info: {
        run_id: id,
        run_uuid: id,
        run_name: `trial-${id}`,
        experiment_id: '7',
        user_id: 'story',
        status: 'FINISHED',
        start_time: Date.parse(t(0)),
        end_time: Date.parse(t(9)),
        artifact_uri: `mlflow-artifacts:/7/${id}/artifacts`,
        lifecycle_stage: 'active',
      },
      data: {
        metrics: [{ key: 'test_auc', value: auc, timestamp: 1, step: 1 }],
        params: [{ key: 'algorithm', value: id === 'r1' ? 'logistic' : 'gbdt' }],
        tags: [],
      },
      inputs: { dataset_inputs: [] },
    } as unknown as ComparedRun['run'],
    history: {
      test_auc: [
        { key: 'test_auc', value: auc / 2, timestamp: 1, step: 0 },
        { key: 'test_auc', value: auc, timestamp: 2, step: 1 },
      ],
    },
  });

  it('rebuilds the traffic of each version from the deployment records, the rollback handing it back', () => {
    const timeline = trafficTimeline(records);
    expect(timeline.versions).toEqual(['Lambda version 1', 'v1', 'v2']);
    const of = (v: string) => timeline.points.map((p) => p.weights[v] ?? 0);
    // started v1, 50%, 100% (promoted, and v2 started, move nothing), v2 at 10%, rolled back.
    expect(of('v1')).toEqual([0, 50, 100, 90, 100]);
    expect(of('v2')).toEqual([0, 0, 0, 10, 0]);
    expect(of('Lambda version 1')).toEqual([100, 50, 0, 0, 0]);
    expect(timeline.marks.filter((m) => m.kind === 'rollback')).toEqual([
      { at: Date.parse(t(45)), version: 'v2', kind: 'rollback', reason: records[1]?.rollback_reason },
    ]);
  });

  it('renders every section, and says so where a section has no data or could not be read', async () => {
    const n = 400;
    const drift = await computeDrift(
      memoryTable('baseline', {
        basket: Array.from({ length: n }, (_, i) => (i % 97) / 10),
        channel: Array.from({ length: n }, (_, i) => ['web', 'app', 'store'][i % 3] as string),
      }),
      memoryTable('today', {
        basket: Array.from({ length: n }, (_, i) => (i % 97) / 10 + 4),
        channel: Array.from({ length: n }, (_, i) => ['web', 'app', 'app'][i % 3] as string),
      }),
    );
    const driftHtml = renderDriftHtml(drift.report, drift.summaries, { baseline: 'b', current: 'c' });
    const shadowError = "RESOURCE_DOES_NOT_EXIST: Model 'm' has no shadow: POST /v1/models/m/shadow sets one";
    const data: LifecycleReportData = {
      modelName: 'propensity <test>',
      apiUrl: 'http://127.0.0.1:4566',
      generatedAt: t(50),
      steps: [
        { name: 'train v1', outcome: 'run r1, test auc 0.81', seconds: 3.5 },
        { name: '<b>deploy</b>', outcome: 'v1 live', seconds: 1 },
      ],
      runs: { data: [run('r1', 0.81), run('r2', 0.84)] },
      registry: { missing: 'nothing registered' },
      deployments: { data: { model: 'm', live: { lambda_version: '2', weights: {} }, deployments: records } },
      ab: { missing: 'No A/B test was named.' },
      shadow: { error: shadowError },
      drift: [
        {
          title: 'Drift of v1',
          report: drift.report,
          reasons: ['basket PSI 3.1 > 0.2'],
          plots: [],
          notes: [],
        },
        {
          title: 'An empty report',
          plots: [],
          notes: ['No histograms: the job’s HTML report was not given.'],
        },
      ],
      performance: { missing: 'No performance from delayed labels was given.' },
    };
    // The plots come from the drift job's own page, as the loader takes them.
    const { driftEntry } = await import('../../lambdas/platform/lifecycle-report/drift');
    const entry = driftEntry({ title: 'Drift of v1', html: driftHtml, data: drift.report });
    expect(entry.plots).toHaveLength(driftHtml.match(/<svg /g)?.length ?? -1);
    expect(entry.notes).toEqual([]);
    const html = renderLifecycleReport({
      ...data,
      drift: [{ ...entry, reasons: ['basket PSI 3.1 > 0.2'] }, data.drift[1]!],
    });

    expectSelfContained(html, data.apiUrl);
    expect(html).toContain('<title>propensity &lt;test&gt;: the lifecycle</title>');
    expect(html).toContain('&lt;b&gt;deploy&lt;/b&gt;');
    expect(html).toContain('nothing registered');
    expect(html).toContain('No A/B test was named.');
    expect(html).toContain('No performance from delayed labels was given.');
    expect(html).toContain(`Could not be read: ${shadowError.replaceAll("'", '&#39;')}`);
    expect(html).toContain('ErrorRate &gt; 1% &lt;blue&gt;');
    // The runs: the compare page's sections, curves per run.
    expect(html).toContain('data-run="r1" data-points="0:0.405 1:0.81"');
    expect(html).toContain('data-run="r2" data-points="0:0.42 1:0.84"');
    // Drift: each feature with its test and threshold, the histograms of the job's page.
    for (const f of drift.report.features) {
      expect(html).toContain(`<th>${f.name}</th>`);
      expect(html).toContain(`${f.test.method} `);
    }
    expect(html).toContain('basket PSI 3.1 &gt; 0.2');
    expect(html).toContain('No histograms: the job’s HTML report was not given.');

    const dom = await parseInBrowser(html);
    expect(dom.requests).toEqual([]);
    expect(dom.sections.map(([id]) => id)).toEqual(SECTIONS);
    expect(dom.tables).toBe(true);
    expect(dom.svgs).toBe(1 + entry.plots.length + 1); // the metric's chart, the drift plots, the timeline
    expect(weightsOf(dom.versionLines.v2)).toEqual([0, 0, 0, 10, 0]);
    expect(dom.text.steps).toContain('total4.5');
    expect(dom.text.registry).toContain('nothing registered');
  }, 120_000);
});

describe('the lifecycle report on the local runtime', () => {
  const s = useServingRuntime({ prefix: 'lifecycle' });
  const ROLLBACK_REASON = 'error rate 4% above the 1% alarm <after promotion>';
  const UNITS = Array.from({ length: 40 }, (_, i) => `unit-${i}`);
  let html = '';
  let exp = '';
  let runIds: string[] = [];
  let v1 = '';
  let v2 = '';

  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  async function ok(method: string, path: string, body?: unknown): Promise<any> {
    const r = await s.call(method, path, body);
    if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }
  async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 120): Promise<T> {
    for (const end = Date.now() + seconds * 1000; Date.now() < end; ) {
      const v = await probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`gave up waiting for ${what}`);
  }
  async function deploy(version: string, steps: number[]) {
    await ok('POST', '/v1/deployments', { model: s.name, version, steps, bake_seconds: 0 });
    return until(`the canary of v${version}`, async () => {
      const d = await ok('GET', `/v1/deployments/${s.name}`);
      const r = d.deployments.find((x: { version: string }) => x.version === version);
      if (r?.status === 'refused' || r?.status === 'rolled_back') throw new Error(JSON.stringify(r));
      return r?.status === 'live' ? r : undefined;
    });
  }

  beforeAll(async () => {
    const control = trainTiny('gbdt', 11);
    v1 = await s.register(control, { metrics: { test_auc: 0.81 } });
    v2 = await s.register(trainTiny('logistic', 5), { metrics: { test_auc: 0.78 } });
    runIds = await Promise.all(
      [v1, v2].map(
        async (v) => (await ok('GET', `model-versions/get?name=${s.name}&version=${v}`)).model_version.run_id,
      ),
    );
    // History: v1 through its canary, into Production with an alias; v2 through its canary, then rolled back.
    await deploy(v1, [50, 100]);
    await ok('POST', 'model-versions/transition-stage', { name: s.name, version: v1, stage: 'Production' });
    await ok('POST', 'registered-models/alias', { name: s.name, alias: 'champion', version: v1 });
    await deploy(v2, [25, 100]);
    await ok('POST', `/v1/deployments/${s.name}/rollback`, { reason: ROLLBACK_REASON });

    // An A/B test of the two with outcomes, and v2 as a shadow of the same traffic.
    exp = `${s.name}-ab`;
    await ok('POST', `/v1/models/${s.name}/shadow`, { version: v2, sample_rate: 1 });
    await ok('POST', '/v1/experiments', {
      name: exp,
      model: s.name,
      control_version: v1,
      treatment_version: v2,
      allocation: { control: 0.5, treatment: 0.5 },
      salt: 'lifecycle',
    });
    for (const unit of UNITS)
      await ok('POST', `/v1/models/${s.name}/predict`, {
        unit_id: unit,
        instances: control.rows.slice(0, 2),
      });
    await until('the exposures of every unit', async () => {
      await s.runtime.logSubscriptions.flush();
      const a = await ok('GET', `/v1/experiments/${exp}/analysis`);
      return a.variants.reduce((n: number, v: { units: number }) => n + v.units, 0) === UNITS.length
        ? a
        : undefined;
    });
    await ok('POST', `/v1/experiments/${exp}/outcomes`, {
      outcomes: UNITS.filter((_, i) => i % 3 === 0).map((unit, i) => ({
        outcome_id: `${unit}-o`,
        unit_id: unit,
        converted: true,
        value: 10 + i,
        timestamp: '2026-12-04T10:00:00Z',
      })),
    });
    await until('the shadow pairs', async () => {
      await s.runtime.logSubscriptions.flush();
      const r = await s.call('GET', `/v1/models/${s.name}/shadow/report`);
      return r.status === 200 && r.json.rows > 0 ? true : undefined;
    });
    // The shadow ends; its report is still asked for by version.
    await ok('DELETE', `/v1/models/${s.name}/shadow`);

    html = renderLifecycleReport(
      await loadLifecycleReport({
        apiUrl: s.runtime.url,
        modelName: s.name,
        runIds,
        abExperimentId: exp,
        shadowId: s.name,
        shadowVersion: v2,
        steps: [{ name: 'deploy and roll back', outcome: `v${v2} rolled back`, seconds: 12.5 }],
      }),
    );
    // To look at the page: LIFECYCLE_REPORT_OUT=/tmp/lifecycle.html npx vitest run <this file>
    if (process.env.LIFECYCLE_REPORT_OUT) writeFileSync(process.env.LIFECYCLE_REPORT_OUT, html);
  }, 600_000);

  it('shows the deployments with their traffic steps and the rollback with its reason, as the status API records them', async () => {
    const status = await ok('GET', `/v1/deployments/${s.name}`);
    const second = status.deployments.find((d: { version: string }) => d.version === v2);
    expect(second).toMatchObject({ status: 'rolled_back', rollback_reason: ROLLBACK_REASON });
    expect(html).toContain('error rate 4% above the 1% alarm &lt;after promotion&gt;');
    expect(html).toContain(`v${v2} rolled back`);
    const dom = await parseInBrowser(html);
    expect(dom.requests).toEqual([]);
    expect(dom.sections.map(([id]) => id)).toEqual(SECTIONS);
    // v2: 0% at its start, its steps (25%, 100%), then nothing after the rollback; v1 back to 100%.
    const w2 = weightsOf(dom.versionLines[`v${v2}`]);
    expect(w2.slice(-3)).toEqual([25, 100, 0]);
    const w1 = weightsOf(dom.versionLines[`v${v1}`]);
    expect(w1).toContain(50);
    expect(w1.at(-1)).toBe(100);
    for (const step of second.steps.split(',')) {
      const [percent, at] = step.split('%@');
      expect(dom.text.deployments).toContain(`${percent}% ${at.slice(11, 19)}`);
    }
  });

  it('shows the registry history: versions, stage, alias and the transitions with their times', async () => {
    const changes = (await ok('GET', `/api/2.0/mlops/registered-models/changes?name=${s.name}`)).changes;
    const dom = await parseInBrowser(html);
    const text = dom.text.registry ?? '';
    expect(text).toContain('champion → v1');
    expect(text).toMatch(new RegExp(`v${v1}.*Production`));
    expect(changes.length).toBeGreaterThanOrEqual(2);
    for (const c of changes)
      expect(text).toContain(new Date(c.timestamp).toISOString().replace('T', ' ').slice(0, 19));
    expect(text).toContain('None → Production');
  });

  it('shows the A/B analysis the API computes: decision, reason, units per variant', async () => {
    const analysis = await ok('GET', `/v1/experiments/${exp}/analysis`);
    const dom = await parseInBrowser(html);
    expect(dom.decision).toBe(analysis.decision);
    expect(dom.text.ab).toContain(analysis.reason);
    for (const v of analysis.variants) expect(dom.text.ab).toMatch(new RegExp(`${v.name}v\\d+.*${v.units}`));
    expect(dom.text.ab).toContain('lift 95% CI');
  });

  it('shows the compared runs and the shadow report by its version', async () => {
    for (const id of runIds) expect(html).toContain(`data-run="${id}"`);
    const shadow = (await ok(
      'GET',
      `/v1/models/${s.name}/shadow/report?version=${v2}`,
    )) as ShadowReportAnswer;
    const dom = await parseInBrowser(html);
    expect(dom.text.shadow).toContain(`shadow version${shadow.shadow_version}`);
    expect(dom.text.shadow).toContain(`rows compared${shadow.rows}`);
    expect(dom.text.drift).toContain('No drift report was given');
    expectSelfContained(html, s.runtime.url);
  });
});
