import { Command, CommanderError } from 'commander';
import { registerExperimentCommands } from '../lambdas/experiments/cli';
import { registerShadowCommands } from '../lambdas/experiments/shadow/cli';
import { registerFeatureCommands } from '../lambdas/features/cli';
import { registerOnlineFeatureCommands } from '../lambdas/features/online/cli';
import { registerMonitoringCommands } from '../lambdas/monitoring/cli';
import { registerCostCommands } from '../lambdas/platform/cost/cli';
import { MlopsError } from '../lambdas/platform/errors';
import { registerBatchCommands } from '../lambdas/serving/batch/cli';
import { registerDeployCommands } from '../lambdas/serving/deploy/cli';
import { registerTrackingCommands } from '../lambdas/tracking/cli';
import { registerTrainingCommands } from '../lambdas/training/cli';
import { registerLocalCommands } from '../local/cli';

/** Builds the `mlops` command tree; each area registers its own subcommands. */
export function buildProgram(): Command {
  const program = new Command('mlops')
    .description('serverless-mlops: feature store, tracking, registry, pipeline, serving and monitoring')
    .showHelpAfterError()
    .exitOverride();
  registerLocalCommands(program);
  registerOnlineFeatureCommands(registerFeatureCommands(program));
  registerTrainingCommands(program);
  registerTrackingCommands(program);
  registerExperimentCommands(program);
  registerShadowCommands(program);
  registerMonitoringCommands(program);
  registerDeployCommands(program);
  registerBatchCommands(program);
  registerCostCommands(program);
  return program;
}

/**
 * Runs the CLI and returns the exit code. A user's mistake prints its message (no
 * stack) and exits 1; a usage error exits 2.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // Actions report a user's mistake by setting the exit code instead of throwing.
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof MlopsError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
