import type { Command } from 'commander';
import { InvalidParameterError } from '../lambdas/platform/errors';
import { type LocalRuntime, startLocalRuntime } from './runtime';

interface UpOptions {
  port: string;
  dataDir: string;
  stage: string;
  verbose?: boolean;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidParameterError(`--port must be an integer from 0 to 65535, got '${value}'`);
  }
  return port;
}

/** Starts the runtime and prints where everything is. */
export async function up(
  opts: UpOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<LocalRuntime> {
  const rt = await startLocalRuntime({
    port: parsePort(opts.port),
    dataDir: opts.dataDir,
    config: { stage: opts.stage },
    logLevel: opts.verbose ? 'INFO' : 'WARN',
    onProgress: (m) => out.write(`  ${m}\n`),
  });
  out.write(`\nserverless-mlops is running locally\n`);
  out.write(`  API            ${rt.url}  (${rt.plan.routes.length} routes from the synthesized template)\n`);
  out.write(`  health         ${rt.url}/health\n`);
  out.write(`  DynamoDB       ${rt.dynamodbEndpoint}  (dynalite, data in ${rt.dataDir}/dynamodb)\n`);
  out.write(`  S3             ${rt.dataDir}/s3/<bucket>/<key>\n`);
  out.write(`Press Ctrl+C to stop; data stays in ${rt.dataDir}.\n`);
  return rt;
}

/** Resolves when SIGINT or SIGTERM arrives, after stopping the runtime cleanly. */
export function stopOnSignal(rt: LocalRuntime): Promise<void> {
  return new Promise((resolve) => {
    const stop = async (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.stdout.write(`\n${signal}: stopping...\n`);
      await rt.stop();
      process.stdout.write('stopped\n');
      resolve();
    };
    const onInt = () => void stop('SIGINT');
    const onTerm = () => void stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

/** `mlops up` and `mlops start`. */
export function registerLocalCommands(program: Command): void {
  const withRuntimeOptions = (cmd: Command) =>
    cmd
      .option('--port <n>', 'gateway port on 127.0.0.1', '4566')
      .option('--data-dir <dir>', 'where local data persists', '.mlops')
      .option('--stage <name>', 'stage name of the local platform', 'local')
      .option('--verbose', 'log every request');

  withRuntimeOptions(
    program
      .command('up')
      .description('start the platform locally: DynamoDB, S3, and the API from the CDK app'),
  ).action(async (opts: UpOptions) => {
    const rt = await up(opts);
    await stopOnSignal(rt);
  });

  withRuntimeOptions(
    program.command('start').description('the main job: start the local platform (npm start)'),
  ).action(async (opts: UpOptions) => {
    const rt = await up(opts);
    await stopOnSignal(rt);
  });
}
