import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerTrainingCommands } from '../../lambdas/training/cli';
import { FsRunRecorder } from '../../lambdas/training/recording/fs-run-recorder';

const fixture = join(import.meta.dirname, 'fixtures', 'breast_cancer.csv');

async function runCli(
  args: string[],
): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
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
  process.exitCode = undefined;
  try {
    const program = new Command('mlops').exitOverride();
    registerTrainingCommands(program);
    await program.parseAsync(['node', 'mlops', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = undefined;
  return { stdout, stderr, exitCode };
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('mlops train', () => {
  it('prints the run id and test metrics as JSON with --format json', async () => {
    const runs = await mkdtemp(join(tmpdir(), 'cli-runs-'));
    const { stdout, exitCode } = await runCli([
      'train',
      '--training-set',
      fixture,
      '--label',
      'target',
      '--algorithm',
      'logistic',
      '--split-column',
      'split',
      '--runs-dir',
      runs,
      '--format',
      'json',
    ]);
    expect(exitCode).toBeUndefined();
    const result = JSON.parse(stdout);
    expect(result.test_metrics.auc).toBeGreaterThan(0.99);
    expect(await FsRunRecorder.read(runs, result.run_id)).toMatchObject({ status: 'FINISHED' });
  });

  it('a user mistake exits non-zero with the message only, and records no run', async () => {
    const runs = await mkdtemp(join(tmpdir(), 'cli-runs-'));
    const { stderr, exitCode } = await runCli([
      'train',
      '--training-set',
      fixture,
      '--label',
      'diagnosis',
      '--algorithm',
      'gbdt',
      '--runs-dir',
      runs,
    ]);
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(/^error: Label column 'diagnosis' is not in the training set/);
    expect(stderr).not.toMatch(/\n\s+at /);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(runs)).toEqual([]);
  });
});
