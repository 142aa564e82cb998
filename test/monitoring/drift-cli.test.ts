import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import type { DriftReport } from '../../lambdas/monitoring/drift/compare';
import { generate, lcg } from './support/lcg';

const dir = mkdtempSync(join(tmpdir(), 'drift-cli-'));

/** A CSV with numeric x1, x2 (x1 shifted by `shift` standard deviations), a category and a score. */
function table(
  name: string,
  rows: number,
  seed: number,
  shift = 0,
  options: { colors?: string[] } = {},
): string {
  const x1 = generate({ kind: 'normal', seed, n: rows, shift, scale: 1 });
  const x2 = generate({ kind: 'normal', seed: seed + 1000, n: rows, shift: 5, scale: 2 });
  const u = lcg(seed + 2000);
  const colors = options.colors ?? ['red', 'green', 'blue'];
  const lines = ['x1,x2,color,score'];
  for (let i = 0; i < rows; i++) {
    const color = colors[Math.floor(u() * colors.length)]!;
    const missing = u() < 0.05;
    lines.push(`${x1[i]},${missing ? '' : x2[i]},${color},${(1 / (1 + Math.exp(-x1[i]!))).toFixed(6)}`);
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  try {
    const code = await main(['node', 'mlops', 'monitor', 'drift', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

async function driftJson(baseline: string, current: string, ...extra: string[]): Promise<DriftReport> {
  const r = await run(['--baseline', baseline, '--current', current, '--format', 'json', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as DriftReport;
}

const feature = (r: DriftReport, name: string) => r.features.find((f) => f.name === name)!;

afterEach(() => {
  process.exitCode = undefined;
});

describe('mlops monitor drift', () => {
  const base = table('base.csv', 5000, 1);
  const baseSmall = table('base-small.csv', 600, 11);

  it('flags a feature shifted by half a standard deviation on a large baseline (Wasserstein)', async () => {
    const r = await driftJson(base, table('shifted.csv', 5000, 2, 0.5), '--prediction', 'score');
    const x1 = feature(r, 'x1');
    expect(x1.test.method).toBe('wasserstein');
    expect(x1.verdict).toBe('drift');
    // Shift 0.5σ of the same shape: W1 ≈ 0.5, normalized by the baseline's std ≈ 1.
    expect(x1.test.score).toBeGreaterThan(0.4);
    expect(x1.test.score).toBeLessThan(0.6);
    expect(feature(r, 'x2').verdict).toBe('no_drift');
    expect(feature(r, 'color').verdict).toBe('no_drift');
    expect(r.prediction?.verdict).toBe('drift');
    expect(r.summary).toMatchObject({ features: 3, judged: 3, drifted: 1 });
    expect(r.summary.verdict).toBe('no_drift');
  });

  it('gives no alarm on unshifted data of the same size', async () => {
    const r = await driftJson(base, table('same.csv', 5000, 3), '--prediction', 'score');
    for (const f of [...r.features, r.prediction!]) expect(f.verdict).toBe('no_drift');
    expect(r.summary).toMatchObject({ judged: 3, drifted: 0, driftedShare: 0, verdict: 'no_drift' });
  });

  it('uses the KS test on a small baseline and flags a 0.5σ shift, but not an unshifted sample', async () => {
    const shifted = await driftJson(baseSmall, table('small-shifted.csv', 600, 12, 0.5));
    expect(feature(shifted, 'x1').test.method).toBe('ks');
    expect(feature(shifted, 'x1').verdict).toBe('drift');
    expect(feature(shifted, 'color').test.method).toBe('chisquare');
    const same = await driftJson(baseSmall, table('small-same.csv', 600, 13));
    expect(feature(same, 'x1').verdict).toBe('no_drift');
    expect(feature(same, 'x1').test.score).toBeGreaterThan(0.05);
  });

  it('flags a new category and names it', async () => {
    const r = await driftJson(
      base,
      table('colors.csv', 5000, 4, 0, { colors: ['red', 'green', 'blue', 'purple'] }),
    );
    const color = feature(r, 'color');
    expect(color.verdict).toBe('drift');
    expect(color.scores).toMatchObject({ unseen: { categories: ['purple'] } });
  });

  it('gives no verdict for a window below the minimum sample size, even when shifted', async () => {
    const r = await driftJson(base, table('tiny.csv', 40, 5, 3));
    for (const f of r.features) {
      expect(f.verdict).toBe('insufficient_data');
      expect(f.test.drifted).toBeNull();
    }
    expect(r.summary).toMatchObject({ judged: 0, driftedShare: null, verdict: 'insufficient_data' });
    const lowered = await driftJson(base, table('tiny.csv', 40, 5, 3), '--min-samples', '30');
    expect(feature(lowered, 'x1').verdict).toBe('drift');
  });

  it('applies a per-feature method and threshold from the configuration', async () => {
    const config = join(dir, 'drift.yaml');
    writeFileSync(config, 'features:\n  x1:\n    method: psi\n    threshold: 5\n');
    const r = await driftJson(base, table('shifted2.csv', 5000, 6, 0.5), '--config', config);
    expect(feature(r, 'x1').test).toMatchObject({ method: 'psi', threshold: 5, drifted: false });
  });

  it('reports the change in missing rate', async () => {
    const lines = readFileSync(base, 'utf8').trim().split('\n');
    const gappy = join(dir, 'gappy.csv');
    writeFileSync(
      gappy,
      `${lines.map((l, i) => (i > 0 && i % 2 ? l.replace(/^[^,]*/, '') : l)).join('\n')}\n`,
    );
    const r = await driftJson(base, gappy);
    expect(feature(r, 'x1').missingRateChange).toBeCloseTo(0.5, 3);
    expect(feature(r, 'x1').baseline.missingRate).toBe(0);
  });

  it('writes a self-contained HTML report with a histogram per feature', async () => {
    const out = join(dir, 'report.html');
    const r = await run([
      '--baseline',
      base,
      '--current',
      table('html.csv', 5000, 7, 0.5),
      '--format',
      'html',
      '--out',
      out,
      '--prediction',
      'score',
    ]);
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(4);
    expect(html).toContain('score (prediction)');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('prints a table by default', async () => {
    const r = await run(['--baseline', base, '--current', table('t.csv', 5000, 8, 0.5)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^x1\s+numeric\s+drift\s+wasserstein > 0\.1/m);
  });
});

describe('mlops monitor drift rejects bad input with a clear error and no report', () => {
  const base = join(dir, 'bad-base.csv');
  writeFileSync(base, 'a,b\n1,x\n2,y\n');

  async function rejects(current: string, message: RegExp, extra: string[] = []) {
    const r = await run(['--baseline', base, '--current', current, '--format', 'json', ...extra]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  }

  it('a current CSV whose columns differ from the baseline', async () => {
    const p = join(dir, 'other-columns.csv');
    writeFileSync(p, 'a,c\n1,x\n');
    await rejects(p, /must have the baseline's columns: missing 'b'; unexpected 'c'/);
  });

  it('an empty file and a header without rows', async () => {
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    await rejects(empty, /has no rows/);
    const header = join(dir, 'header.csv');
    writeFileSync(header, 'a,b\n');
    await rejects(header, /has no rows/);
  });

  it('an empty baseline', async () => {
    const empty = join(dir, 'empty-base.csv');
    writeFileSync(empty, '');
    const r = await run(['--baseline', empty, '--current', base]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Baseline .* has no rows/);
  });

  it('text in a column the baseline has as numbers', async () => {
    const p = join(dir, 'text.csv');
    writeFileSync(p, 'a,b\n1,x\noops,y\n');
    await rejects(p, /Column 'a' is numeric in the baseline but .* non-numeric value\(s\) such as 'oops'/);
  });

  it('a missing file, an unknown prediction column and an invalid configuration', async () => {
    await rejects(join(dir, 'nope.csv'), /does not exist/);
    await rejects(base, /Configured column 'score' is not a column/, ['--prediction', 'score']);
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'features:\n  a:\n    method: jensenshannon\n');
    await rejects(base, /method 'jensenshannon' applies only to categorical features/, ['--config', config]);
    writeFileSync(config, 'minSamples: -3\n');
    await rejects(base, /Invalid drift configuration: minSamples/, ['--config', config]);
  });
});
