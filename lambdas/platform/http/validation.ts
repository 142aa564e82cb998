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
      const shown = preview(value, 80);
      const text = shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
      return `Invalid value ${text} for parameter '${name}' supplied: ${issue.message}.`;
    })
    .join(' ');
}

/**
 * A short JSON-like text of a value that stops after about `max` characters: values come
 * from requests, so they may be huge or deeply nested, and only the start is shown.
 */
function preview(value: unknown, max: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
  let out = '';
  const walk = (v: unknown, depth: number): void => {
    if (out.length > max) return;
    if (v === null || typeof v !== 'object') {
      out += (JSON.stringify(v) ?? 'null').slice(0, max);
      return;
    }
    if (depth > 4) {
      out += Array.isArray(v) ? '[...]' : '{...}';
      return;
    }
    const entries = Array.isArray(v)
      ? v.slice(0, max).map((x) => [undefined, x] as const)
      : Object.entries(v);
    out += Array.isArray(v) ? '[' : '{';
    entries.forEach(([k, x], i) => {
      if (out.length > max) return;
      if (i > 0) out += ',';
      if (k !== undefined) out += `${JSON.stringify(k)}:`;
      walk(x, depth + 1);
    });
    out += Array.isArray(v) ? ']' : '}';
  };
  walk(value, 0);
  return out;
}
