import { pathToFileURL } from 'node:url';
import type { BenchMeasurement, Benchmark } from './harness';

/**
 * Runs one benchmark file in this (child) process and sends its measurements to the runner
 * (`run.ts`): every benchmark gets a fresh process, so none inherits another's heap, JIT
 * state or leftover servers, and its peak RSS is its own.
 */
export type RunOneMessage = { ok: true; measured: BenchMeasurement[] } | { ok: false; error: string };

const [file, quick, workDir] = process.argv.slice(2);
let message: RunOneMessage;
try {
  const mod = (await import(pathToFileURL(file as string).href)) as { default: Benchmark };
  const measured = await mod.default({
    quick: quick === 'quick',
    workDir: workDir as string,
    progress: (m) => process.stdout.write(`  … ${m}\n`),
  });
  message = { ok: true, measured };
} catch (err) {
  message = { ok: false, error: (err as Error).stack ?? String(err) };
}
// Exit once the message is out: a benchmark may leave servers or timers behind.
process.send?.(message, () => process.exit(0));
