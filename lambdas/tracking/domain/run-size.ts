import { InvalidParameterError } from '../../platform/errors';
import type { RunRecord } from './model';

/**
 * A run's info, params, tags, latest metrics and dataset inputs are kept together (one
 * DynamoDB item, at most 400 KB). Writes are checked against this budget before anything
 * is written, leaving room for the item's keys and for what the size estimate leaves out.
 */
export const RUN_BYTES_BUDGET = 380 * 1024;

/** Bytes a stored latest metric takes beside its key: `x` (16), `o` (48), `t` and `s` (numbers). */
const STORED_METRIC_BYTES = 3 + (1 + 1 + 16) + (1 + 1 + 48) + 2 * (1 + 1 + 21);

/**
 * An upper estimate of a value's size under DynamoDB's rules: UTF-8 bytes of strings and
 * attribute names, up to 21 bytes a number, 3 bytes plus 1 per element for maps and lists.
 *
 * @example
 * storedBytes({ a: 'xy' }); // 3 + 1 + 1 + 2 = 7
 */
export function storedBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'bigint') return 21;
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + 1 + storedBytes(v), 3);
  let n = 3;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    n += 1 + Buffer.byteLength(k, 'utf8') + storedBytes(v);
  }
  return n;
}

/** The estimated stored size of a run. */
export function runBytes(run: RunRecord): number {
  let metrics = 3;
  for (const k of Object.keys(run.metrics)) metrics += 1 + Buffer.byteLength(k, 'utf8') + STORED_METRIC_BYTES;
  return (
    storedBytes({ info: run.info, params: run.params, tags: run.tags, inputs: run.inputs }) +
    'metrics'.length +
    metrics
  );
}

/**
 * Refuses a write that would take the run past its size budget, before anything is written.
 *
 * @example
 * checkRunSize({ ...run, tags: { ...run.tags, ...newTags } });
 */
export function checkRunSize(run: RunRecord): void {
  const bytes = runBytes(run);
  if (bytes > RUN_BYTES_BUDGET) {
    throw new InvalidParameterError(
      `Run ${run.info.run_id} would hold about ${Math.ceil(bytes / 1024)} KB of params, tags, metrics and inputs; a run holds at most ${RUN_BYTES_BUDGET / 1024} KB. Log large values as artifacts instead.`,
    );
  }
}
