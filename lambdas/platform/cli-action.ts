import { MlopsError } from './errors';

/**
 * Wraps a CLI action: a typed error (a user's mistake, or the API's answer) prints its
 * message without a stack and sets exit code 1; anything else propagates.
 *
 * @example
 * program.command('show <id>').action(cliAction(async (id: string) => show(id)));
 */
// biome-ignore lint/suspicious/noExplicitAny: commander passes positional arguments then options
export function cliAction<A extends any[]>(
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      if (!(err instanceof MlopsError)) throw err;
      console.error(`error: ${err.message}`);
      process.exitCode = 1;
    }
  };
}
