import { InvalidParameterError } from '../../lambdas/platform/errors';
import type { LocalRuntime } from '../runtime';
import { runStory, STORY_STEPS } from './story';
import { printExplore, printSummary } from './summary';

export interface StartOptions {
  users: string;
  days: string;
  seed: string;
  dataDir: string;
  reset?: boolean;
  keep?: boolean;
  port?: string;
  trials: string;
  bakeSeconds: string;
  failAt?: string;
  verbose?: boolean;
}

function int(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidParameterError(`${option} must be a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

/**
 * `mlops start`: runs the story, prints the summary and returns the exit code (0, or 1 naming
 * the failed step). SIGINT and SIGTERM stop the runtime (its function workers, DynamoDB, the
 * gateway) before the process exits, at any point; with `--keep` the platform stays up
 * until then.
 */
export async function start(o: StartOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const users = int('--users', o.users, 50, 1_000_000);
  const days = int('--days', o.days, 70, 3650);
  const seed = int('--seed', o.seed, 0, 2 ** 31 - 1);
  const trials = int('--trials', o.trials, 1, 100);
  const bakeSeconds = int('--bake-seconds', o.bakeSeconds, 0, 3600);
  const port = o.port === undefined ? (o.keep ? 4566 : 0) : int('--port', o.port, 0, 65535);
  if (o.failAt && !(STORY_STEPS as readonly string[]).includes(o.failAt))
    throw new InvalidParameterError(
      `--fail-at must name a step: ${STORY_STEPS.map((s) => `'${s}'`).join(', ')}`,
    );

  let rt: LocalRuntime | undefined;
  let stopEvents: (() => void) | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // Requests in flight fail as the platform stops: that is expected now, not a crash.
    process.on('unhandledRejection', () => undefined);
    void (async () => {
      out.write(`\n${signal}: stopping the platform...\n`);
      stopEvents?.();
      await rt?.stop().catch((err) => out.write(`  while stopping: ${(err as Error).message}\n`));
      out.write('stopped\n');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    })();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    out.write(
      `mlops start: the whole ML lifecycle on this machine (${users} users, ${days} days, seed ${seed})\n`,
    );
    const result = await runStory({
      dataDir: o.dataDir,
      reset: o.reset ?? false,
      keep: o.keep ?? false,
      port,
      users,
      days,
      seed,
      trials,
      bakeSeconds,
      ...(o.failAt ? { failAt: o.failAt } : {}),
      verbose: o.verbose ?? false,
      out,
      onRuntime: (r, s) => {
        rt = r;
        stopEvents = s;
      },
    });
    printSummary(result, out);
    if (o.keep && result.runtime) {
      printExplore(result.runtime.url, result.facts.model, result.dataDir, out);
      // Waits for Ctrl-C: the handler stops the runtime and exits.
      await new Promise<never>(() => undefined);
    }
    return result.ok ? 0 : 1;
  } finally {
    if (!o.keep) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  }
}
