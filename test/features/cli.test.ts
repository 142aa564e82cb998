import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerFeatureCommands } from '../../lambdas/features/cli';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { readRows } from './support';

const REPO = join(import.meta.dirname, '../../lambdas/features/examples/repo');
let dir: string;
let engine: DuckDbEngine;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'features-cli-'));
  engine = await DuckDbEngine.create({ threads: 1 });
});
afterAll(async () => {
  engine.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `mlops features ...` in-process; returns stdout, stderr and the exit code. */
async function mlops(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((m: unknown) => void out.push(String(m)));
  const error = vi.spyOn(console, 'error').mockImplementation((m: unknown) => void err.push(String(m)));
  process.exitCode = 0;
  try {
    const program = new Command('mlops').exitOverride();
    registerFeatureCommands(program);
    await program.parseAsync(['features', ...args, '--data-dir', dir], { from: 'user' });
    return { out: out.join('\n'), err: err.join('\n'), code: Number(process.exitCode ?? 0) };
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.exitCode = 0;
  }
}

describe('mlops features on the example repo', () => {
  it('plans, applies, ingests and builds a training set with window and on-demand features', async () => {
    const plan = await mlops('plan', '--repo', REPO);
    expect(plan.out.split('\n')).toEqual([
      '+ entities user',
      '+ sources purchases',
      '+ featureViews purchases',
      '+ onDemandFeatureViews cart',
      '+ featureServices fraud_v1',
    ]);
    expect((await mlops('apply', '--repo', REPO)).out).toContain('Applied registry version 1.');
    expect((await mlops('plan', '--repo', REPO)).out).toBe('No changes.');

    const ingest = await mlops('ingest', '--source', 'purchases', '--repo', REPO);
    expect(ingest.out).toMatch(/ingested \(6 rows\) into purchases/);

    const output = join(dir, 'ts.csv');
    const ts = await mlops(
      'training-set',
      '--repo',
      REPO,
      '--entity-rows',
      join(REPO, 'data/entity-rows.csv'),
      '--feature-service',
      'fraud_v1',
      '--output',
      output,
    );
    expect(ts.code).toBe(0);
    expect(ts.out).toMatch(/Wrote 4 rows x 8 columns/);
    const rows = await readRows(engine, output);
    expect(
      rows.map((r) => [
        r['user_id'],
        r['amount'],
        r['purchase_count_30d'],
        r['purchase_amount_sum_7d'],
        r['cart_to_last_purchase'],
      ]),
    ).toEqual([
      [1, 12, 3, 12, 70 / 12],
      // 08:30+02:00 on 05-02 is 06:30Z, inside the 30-day TTL of 06-01T00:00Z.
      [2, 400, 1, null, 0.25],
      [3, null, 0, null, null],
      [4, null, 0, null, null],
    ]);
  });

  it('exits 1 with the message, not a stack, for a user mistake', async () => {
    const r = await mlops(
      'training-set',
      '--entity-rows',
      join(REPO, 'data/entity-rows.csv'),
      '--features',
      'purchases:amout',
      '--output',
      join(dir, 'x.csv'),
    );
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "error: features: unknown feature 'amout' in view 'purchases'; it has: amount, channel, purchase_count_30d, purchase_amount_sum_7d",
    );
  });
});
