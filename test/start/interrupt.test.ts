import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Ctrl-C during `npm start`: the terminal sends SIGINT to the whole foreground process group.
// The story runs as its own group here (detached), and the signal goes to the group.
const dataDir = mkdtempSync(join(tmpdir(), 'mlops-interrupt-'));
const root = new URL('../..', import.meta.url).pathname;
const ARGS = ['--users', '300', '--days', '120', '--trials', '1', '--data-dir', dataDir];

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The pids left in a process group (empty when every process of it has exited). */
function groupMembers(pgid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    // ps exits 1 when no process matches.
    return [];
  }
}

/** Starts `mlops start` (what `npm start` runs) in a group of its own, collecting what it prints. */
function startStory(extra: string[] = []): { child: ChildProcess; output: () => string } {
  let text = '';
  const child = spawn(process.execPath, ['bin/mlops.js', 'start', ...ARGS, ...extra], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  child.stdout?.on('data', (c) => {
    text += String(c);
  });
  child.stderr?.on('data', (c) => {
    text += String(c);
  });
  return { child, output: () => text };
}

async function waitFor(what: () => boolean, seconds: number, label: string, output: () => string) {
  const deadline = Date.now() + seconds * 1000;
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

describe('Ctrl-C during npm start', () => {
  it('stops the platform mid-pipeline, leaves no process, and the next run reuses the data dir', async () => {
    const { child, output } = startStory();
    const pgid = child.pid as number;
    try {
      // Interrupted while the training pipeline's functions are at work.
      await waitFor(
        () => /train v1 \(pipeline: logistic baseline\)/.test(output()),
        300,
        'the training step',
        output,
      );
      await new Promise((r) => setTimeout(r, 1500));
      expect(groupMembers(pgid)).toContain(pgid);
      process.kill(-pgid, 'SIGINT');
      const end = await Promise.race([
        exited(child),
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000)),
      ]);
      expect(end, output()).toEqual({ code: 130, signal: null });
      expect(output()).toMatch(/SIGINT: stopping the platform[\s\S]*stopped/);
      // Nothing of the group outlives it (function workers are threads of the one process).
      await waitFor(() => groupMembers(pgid).length === 0, 10, 'the group to be empty', output);
    } finally {
      if (groupMembers(pgid).length) process.kill(-pgid, 'SIGKILL');
    }

    // The interrupted run released the data dir (DynamoDB's files included): the next run opens it.
    const again = startStory(['--fail-at', 'materialize to the online store']);
    const end = await exited(again.child);
    expect(end.code, again.output()).toBe(1);
    expect(again.output()).toContain('reused (kept from an earlier run)');
    expect(again.output()).toContain("FAILED at step 'materialize to the online store'");
    expect(groupMembers(again.child.pid as number)).toEqual([]);
  }, 600_000);
});
