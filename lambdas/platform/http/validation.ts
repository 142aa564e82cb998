import type { z } from 'zod';
import { InvalidParameterError } from '../errors';

/**
 * Validates input against a schema, answering MLflow-style messages that name the
 * parameter and say what is expected ("Missing value for required parameter 'name'").
 *
 * @example
 * const { run_id } = validate(z.object({ run_id: z.string() }), input);
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const res = schema.safeParse(input);
  if (res.success) return res.data;
  throw new InvalidParameterError(describeIssues(res.error.issues, input));
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function describeIssues(issues: z.core.$ZodIssue[], input: unknown): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const name = issue.path.map(String).join('.') || '(body)';
      const value = valueAt(input, issue.path);
      if (value === undefined && issue.code === 'invalid_type') {
        return `Missing value for required parameter '${name}'.`;
      }
      const shown = JSON.stringify(value);
      const preview = shown && shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
      return `Invalid value ${preview} for parameter '${name}' supplied: ${issue.message}.`;
    })
    .join(' ');
}
