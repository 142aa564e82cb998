import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnalysisReportSchema } from '../../lambdas/experiments/analysis/result';
import { registerExperimentCommands } from '../../lambdas/experiments/cli';
import { expectStat, vectors } from './support';

const dir = mkdtempSync(join(tmpdir(), 'experiments-cli-'));
const reference = new URL('./reference/outcomes.csv', import.meta.url).pathname;

function csv(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const log = vi.spyOn(console, 'log').mockImplementation((s) => {
    stdout += `${s}\n`;
  });
  const error = vi.spyOn(console, 'error').mockImplementation((s) => {
    stderr += `${s}\n`;
  });
  try {
    const program = new Command('mlops').exitOverride();
    registerExperimentCommands(program);
    await program.parseAsync(['experiments', 'analyze', ...args], { from: 'user' });
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.exitCode = undefined;
  }
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('mlops experiments analyze --data', () => {
  it('prints the JSON report of the reference CSV', async () => {
    const r = await run('--data', reference, '--allocation', 'control=0.8,treatment=0.2', '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = AnalysisReportSchema.parse(JSON.parse(r.stdout));
    expectStat(report.comparisons[0]?.conversion.z, vectors.outcomes_csv.z);
    expect(report.control).toBe('control');
    expect(['promote', 'stop', 'keep_running']).toContain(report.decision);
  });

  it('prints a table with the decision', async () => {
    const r = await run('--data', reference, '--allocation', 'control=0.8,treatment=0.2', '--mde', '0.3');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^control\s+80\.00%/m);
    expect(r.stdout).toMatch(/^conversion\s+9\.572%\s+15\.372%/m);
    expect(r.stdout).toMatch(/^decision: (PROMOTE|STOP|KEEP RUNNING)/m);
  });

  it('reads quoted fields, CRLF line ends, true/false, blank lines and any column order', async () => {
    const path = csv(
      'quoted.csv',
      'unit_id,value,converted,variant\r\n"user,1",1.5,true,control\r\n\r\n"say ""hi""",2,False,treatment\r\n"multi\nline",3e0,1,treatment\r\nu4,-1,0,control',
    );
    const r = await run('--data', path, '--allocation', 'control=0.5,treatment=0.5', '--format', 'json');
    expect(r.stderr).toBe('');
    const report = AnalysisReportSchema.parse(JSON.parse(r.stdout));
    expect(report.variants.map((v) => [v.units, v.conversions, v.value_mean])).toEqual([
      [2, 1, 0.25],
      [2, 1, 2.5],
    ]);
  });

  it.each([
    [
      'an allocation that does not sum to 100%',
      ['--allocation', 'control=0.9,treatment=0.2'],
      /--allocation must sum to 1 \(100%\), but control=0\.9,treatment=0\.2 sums to 1\.1 \(110%\)/,
    ],
    [
      'an allocation that is not name=share',
      ['--allocation', 'control:0.9,treatment=0.1'],
      /'control:0\.9' is not name=share/,
    ],
    ['a single variant', ['--allocation', 'control=1'], /at least two variants/],
    ['a variant listed twice', ['--allocation', 'a=0.5,a=0.5'], /variant 'a' is listed twice/],
    [
      'an alpha out of range',
      ['--allocation', 'control=0.8,treatment=0.2', '--alpha', '5'],
      /alpha must be between 0 and 1/,
    ],
    [
      'a non-numeric MDE',
      ['--allocation', 'control=0.8,treatment=0.2', '--mde', 'big'],
      /--mde must be a number/,
    ],
  ])('refuses %s', async (_, args, message) => {
    const r = await run('--data', reference, ...(args as string[]));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message as RegExp);
  });

  it.each([
    [
      'an unknown variant',
      'variant,unit_id,converted,value\ncontrol,u1,1,2\ntreatmnt,u2,0,0\n',
      /line 3: unknown variant 'treatmnt' \(the allocation names control, treatment\)/,
    ],
    [
      'a missing field',
      'variant,unit_id,converted,value\ncontrol,u1,1,2\ncontrol,u2,0\n',
      /line 3: expected 4 fields \(variant,unit_id,converted,value\), got 3/,
    ],
    [
      'a converted flag that is not 0/1',
      'variant,unit_id,converted,value\ncontrol,u1,yes,2\n',
      /line 2: converted must be 0, 1, true or false, got 'yes'/,
    ],
    [
      'a value that is not a number',
      'variant,unit_id,converted,value\n\ncontrol,u1,1,0x10\n',
      /line 3: value must be a finite decimal number, got '0x10'/,
    ],
    [
      'an infinite value',
      'variant,unit_id,converted,value\ncontrol,u1,1,1e999\n',
      /line 2: value must be a finite decimal number, got '1e999'/,
    ],
    ['an empty unit id', 'variant,unit_id,converted,value\ncontrol,,1,2\n', /line 2: unit_id is empty/],
    [
      'an unclosed quote',
      'variant,unit_id,converted,value\ncontrol,"u1,1,2\ncontrol,u2,1,2\n',
      /line 2: a quoted field is not closed before the end of the file/,
    ],
    [
      'a stray quote',
      'variant,unit_id,converted,value\ncontrol,u"1,1,2"\n',
      /line 2: a quote inside unquoted field 2/,
    ],
    [
      'a wrong header',
      'group,unit,converted,value\ncontrol,u1,1,2\n',
      /line 1: the header must name the columns variant,unit_id,converted,value, got 'group,unit,converted,value'/,
    ],
    [
      'a bad row after a record with a quoted line break',
      'variant,unit_id,converted,value\ncontrol,"a\nb",1,2\ncontrol,u2,x,2\n',
      /line 4: converted must be 0, 1, true or false, got 'x'/,
    ],
    ['an empty file', '', /line 1: the file is empty/],
  ])('refuses a CSV with %s, naming the line', async (_, text, message) => {
    const path = csv('bad.csv', text as string);
    const r = await run('--data', path, '--allocation', 'control=0.5,treatment=0.5');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).toContain(path);
  });

  it('refuses a missing file', async () => {
    const r = await run('--data', join(dir, 'nope.csv'), '--allocation', 'control=0.5,treatment=0.5');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--data: no such file/);
  });
});
