import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type BenchMeasurement, type BenchResult, judge } from './harness';
import type { RunOneMessage } from './run-one';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

/** Every `*.bench.ts` under bench/, optionally filtered by a substring of its path. */
function findBenchmarks(dir: string, filter?: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findBenchmarks(full, filter));
    else if (name.endsWith('.bench.ts') && (!filter || full.includes(filter))) out.push(full);
  }
  return out.sort();
}

function table(results: BenchResult[]): string {
  const rows = results.map((r) => [
    r.id,
    `${fmt(r.ours)} ${r.unit}`,
    `${fmt(r.baseline)} ${r.unit}`,
    r.ratio.toFixed(3),
    r.goalText,
    r.pass ? 'PASS' : 'FAIL',
  ]);
  const head = ['benchmark', 'ours', 'baseline', 'ratio', 'goal', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(4);
}

/** Runs one benchmark file in a child process of its own (`run-one.ts`) and returns its measurements. */
function runIsolated(file: string, quick: boolean, workDir: string): Promise<BenchMeasurement[]> {
  return new Promise((resolve, reject) => {
    // The child inherits this process's loader flags (tsx) and prints its progress itself.
    const child = fork(
      new URL('./run-one.ts', import.meta.url).pathname,
      [file, quick ? 'quick' : 'full', workDir],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    let message: RunOneMessage | undefined;
    child.on('message', (m) => {
      message = m as RunOneMessage;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (message?.ok) resolve(message.measured);
      else reject(new Error(message ? message.error : `benchmark process exited with code ${code}`));
    });
  });
}

/**
 * `npm run bench [-- --quick] [-- <path filter>]`: runs every benchmark, each in a process of
 * its own (so none is measured in another's heap), prints a table,
 * and writes bench/results/latest.json. Exits 1 when a benchmark fails to run.
 */
async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const filter = args.find((a) => !a.startsWith('--'));
  const root = new URL('.', import.meta.url).pathname;
  const files = findBenchmarks(root, filter);
  const results: BenchResult[] = [];
  const failures: string[] = [];
  for (const file of files) {
    const name = relative(root, file);
    const workDir = mkdtempSync(join(tmpdir(), 'mlops-bench-'));
    const started = performance.now();
    process.stdout.write(`\n▶ ${name}${quick ? ' (quick)' : ''}\n`);
    try {
      const measured = await runIsolated(file, quick, workDir);
      for (const m of measured) results.push(judge(m));
      process.stdout.write(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).stack ?? err}`);
      process.stdout.write(`  FAILED: ${(err as Error).message}\n`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
  const outDir = join(root, 'results');
  mkdirSync(outDir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    quick,
    node: process.version,
    machine: { cpus: (await import('node:os')).cpus().length },
    results: results.map(({ id, ours, baseline, unit, ratio, goalText, pass, extra }) => ({
      id,
      ours,
      baseline,
      unit,
      ratio: Number(ratio.toFixed(4)),
      goal: goalText,
      pass,
      ...(extra ? { extra } : {}),
    })),
    failures,
  };
  if (!filter) writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  else writeFileSync(join(outDir, 'partial.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${table(results)}\n`);
  for (const f of failures) process.stdout.write(`\nFAILED ${f}\n`);
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
