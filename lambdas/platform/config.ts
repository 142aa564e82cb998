import { z } from 'zod';
import { InvalidParameterError } from './errors';

/**
 * Reads and validates a function's configuration from the environment once, at cold
 * start, so a misconfigured deployment fails on its first invocation with a message
 * that names every wrong variable instead of failing later in the middle of a request.
 *
 * @example
 * const config = loadConfig(z.object({ TRACKING_TABLE: z.string().min(1) }));
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new InvalidParameterError(`Invalid function configuration: ${problems.join('; ')}`);
}

/** Variables every platform function receives from its construct. */
export const baseConfigSchema = z.object({
  STAGE: z.string().min(1).default('local'),
  /** Set by the local runtime; absent on AWS. Points at the filesystem object store root. */
  MLOPS_LOCAL_S3_ROOT: z.string().optional(),
});
