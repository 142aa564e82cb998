import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultReportPath, registerTrackingCommands } from '../../../lambdas/tracking/cli';
import { createMlflowClient } from '../../../lambdas/tracking/client/mlflow-client';
import { runContextTags } from '../../../lambdas/tracking/client/run-context';
import { apiUrl, classifierOnnx, unique } from '../support';

const { tracking, registry, artifacts } = createMlflowClient({ apiUrl });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tracking-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `mlops ...` in-process against the test API; returns stdout, stderr and the exit code. */
async function mlops(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((m: unknown) => void out.push(String(m)));
  const error = vi.spyOn(console, 'error').mockImplementation((m: unknown) => void err.push(String(m)));
  process.exitCode = 0;
  try {
    const program = new Command('mlops').exitOverride();
    registerTrackingCommands(program);
    await program.parseAsync([...args, '--api-url', apiUrl], { from: 'user' });
    return { out: out.join('\n'), err: err.join('\n'), code: Number(process.exitCode ?? 0) };
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.exitCode = 0;
  }
}

/** Two finished runs whose curves, params and dataset digests differ. */
async function twoRuns() {
  const name = unique('cmp');
  const exp = await tracking.getOrCreateExperiment(name);
  const ids: string[] = [];
  for (const [i, lr] of ['0.1', '0.3'].entries()) {
    const run = await tracking.createRun({
      experimentId: exp,
      runName: `lr-${lr}`,
      startTime: 10_000 + i,
      tags: runContextTags({ datasetDigest: `sha256:d${i}`, gitCommit: `c0ffee${i}` }),
    });
    const id = run.info.run_id;
    await tracking.logBatch(id, {
      params: [
        { key: 'lr', value: lr },
        { key: 'depth', value: '6' },
        ...(i ? [{ key: 'subsample', value: '0.8' }] : []),
      ],
      metrics: [0, 1, 2, 3].map((step) => ({ key: 'loss', value: (1 + i) / (step + 1), step, timestamp: 1 })),
    });
    await tracking.logMetrics(id, [{ key: 'auc', value: [0.7, 0.8][i] as number, step: 3 }]);
    await tracking.endRun(id);
    ids.push(id);
  }
  return { exp: name, ids };
}

describe('mlops runs', () => {
  it('lists runs of one experiment by name, filtered, as a table and as JSON', async () => {
    const { exp, ids } = await twoRuns();
    const table = await mlops('runs', 'list', '--experiment', exp);
    expect(table.code).toBe(0);
    const lines = table.out.split('\n');
    expect(lines[0]).toMatch(/^RUN ID\s+NAME\s+EXP\s+STATUS/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([ids[1], ids[0]]);
    expect(lines[1]).toMatch(/FINISHED/);
    const json = await mlops(
      'runs',
      'list',
      '--experiment',
      exp,
      '--filter',
      "params.lr = '0.1'",
      '--format',
      'json',
    );
    expect(JSON.parse(json.out).map((r: { info: { run_id: string } }) => r.info.run_id)).toEqual([ids[0]]);
    const none = await mlops('runs', 'list', '--experiment', unique('nope'));
    expect(none).toMatchObject({ code: 1, out: '' });
    expect(none.err).toMatch(/^error: no experiment named or numbered/);
    expect((await mlops('runs', 'list', '--max-results', 'ten')).err).toBe(
      "error: --max-results must be a positive whole number (got 'ten')",
    );
  });

  it('shows one run with its params, latest metrics and context tags', async () => {
    const { ids } = await twoRuns();
    const shown = await mlops('runs', 'show', ids[1] as string);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`run ${ids[1]}  lr-0.3`);
    expect(shown.out).toMatch(/^ {2}lr\s+0\.3$/m);
    expect(shown.out).toMatch(/^ {2}loss\s+0\.5 \(step 3\)$/m);
    expect(shown.out).toMatch(/^ {2}mlops\.dataset\.digest\s+sha256:d1$/m);
  });

  it('compare writes one page with each run’s metric series and the param diff, and prints its path', async () => {
    const { ids } = await twoRuns();
    const output = join(dir, 'nested', 'cmp.html');
    const res = await mlops('runs', 'compare', ids[0] as string, ids[1] as string, '--output', output);
    expect(res).toMatchObject({ code: 0, out: output });
    const html = await readFile(output, 'utf8');
    const series = [...html.matchAll(/data-metric="([^"]+)" data-run="([^"]+)" data-points="([^"]*)"/g)].map(
      (m) => [m[1], m[2], m[3]],
    );
    expect(series).toEqual([
      ['auc', ids[0], '3:0.7'],
      ['auc', ids[1], '3:0.8'],
      ['loss', ids[0], '0:1 1:0.5 2:0.3333333333333333 3:0.25'],
      ['loss', ids[1], '0:2 1:1 2:0.6666666666666666 3:0.5'],
    ]);
    const rows = [...html.matchAll(/<tr( class="differs")? data-key="([^"]+)"><th>[^<]*<\/th>(.*?)<\/tr>/g)];
    const params = Object.fromEntries(
      rows
        .filter((r) => ['lr', 'depth', 'subsample'].includes(r[2] as string))
        .map((r) => [
          r[2],
          {
            differs: Boolean(r[1]),
            cells: [...(r[3] as string).matchAll(/<td[^>]*>([^<]*)</g)].map((c) => c[1]),
          },
        ]),
    );
    expect(params).toEqual({
      lr: { differs: true, cells: ['0.1', '0.3'] },
      subsample: { differs: true, cells: ['—', '0.8'] },
      depth: { differs: false, cells: ['6', '6'] },
    });
    expect(html).toContain('sha256:d0');
    expect(html).toContain('c0ffee1');
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
  });

  it('compare with an unknown run id exits 1 with the API’s message and writes nothing', async () => {
    const { ids } = await twoRuns();
    const output = join(dir, 'missing.html');
    const res = await mlops('runs', 'compare', ids[0] as string, 'deadbeefdeadbeef', '--output', output);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^error: RESOURCE_DOES_NOT_EXIST: .*deadbeefdeadbeef/);
    await expect(readFile(output)).rejects.toThrow(/ENOENT/);
    expect(defaultReportPath(['a', 'b', 'a'])).toBe(join('.mlops', 'reports', 'compare-a-b.html'));
  });
});

/** A model with `n` READY versions registered from one run's ONNX file. */
async function modelWithVersions(n: number) {
  const name = unique('cli-model');
  const exp = await tracking.getOrCreateExperiment(unique('cli-reg'));
  const runId = (await tracking.createRun({ experimentId: exp })).info.run_id;
  await artifacts.upload(runId, 'model.onnx', classifierOnnx(false));
  await registry.ensureModel(name);
  // Every create is a new version, as in MLflow; descriptions tell them apart in the output.
  for (let i = 0; i < n; i++)
    await registry.createVersion({
      name,
      source: `runs:/${runId}/model.onnx`,
      runId,
      description: `v${i + 1}`,
    });
  return name;
}

describe('mlops models', () => {
  it('promotes versions through stages, archiving the previous one on request', async () => {
    const name = await modelWithVersions(2);
    expect((await mlops('models', 'promote', name, '1', '--stage', 'Staging')).out).toBe(
      `${name} version 1: None -> Staging`,
    );
    const second = await mlops('models', 'promote', name, '2', '--stage', 'Staging', '--archive-existing');
    expect(second.out).toBe(`${name} version 2: None -> Staging`);
    expect((await registry.getVersion(name, '1')).current_stage).toBe('Archived');
    expect((await mlops('models', 'promote', name, '2', '--stage', 'Production')).code).toBe(0);
    const shown = await mlops('models', 'show', name);
    expect(shown.out).toMatch(/^2\s+Production\s+READY/m);
    expect(shown.out).toMatch(/^1\s+Archived\s+READY/m);
    const listed = await mlops('models', 'list', '--filter', `name = '${name}'`);
    expect(listed.out.split('\n')[1]).toMatch(new RegExp(`^${name}\\s+2\\s+Production:v2 Archived:v1\\s`));
    const bad = await mlops('models', 'promote', name, '7', '--stage', 'Production');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error: RESOURCE_DOES_NOT_EXIST/);
  });

  it('sets, moves and deletes an alias', async () => {
    const name = await modelWithVersions(2);
    expect((await mlops('models', 'alias', name, 'champion', '1')).out).toBe(
      `${name}: @champion -> version 1`,
    );
    expect((await registry.getVersionByAlias(name, 'champion')).version).toBe('1');
    await mlops('models', 'alias', name, 'champion', '2');
    expect((await registry.getVersionByAlias(name, 'champion')).version).toBe('2');
    expect((await mlops('models', 'show', name, '--format', 'json')).out).toContain('"alias": "champion"');
    expect((await mlops('models', 'alias', name, 'champion', '--delete')).code).toBe(0);
    await expect(registry.getVersionByAlias(name, 'champion')).rejects.toThrow(/RESOURCE_DOES_NOT_EXIST/);
    const missing = await mlops('models', 'alias', name, 'champion');
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.err).toMatch(/give the version for @champion/);
  });
});
