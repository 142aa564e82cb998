import { Tensor } from 'onnxruntime-node';
import { InvalidParameterError } from '../../platform/errors';
import type { Column, Dataset } from '../../training/data/dataset';
import { buildFeeds } from '../inference/score-onnx';
import type { ModelSignature, SignatureInput } from '../inference/signature';

/** Most rows one request may score. */
export const MAX_ROWS = 10_000;

const NUMERIC = new Set(['float', 'double', 'int64']);

function known(sig: ModelSignature): string {
  const names = sig.inputs.map((i) => i.name);
  return names.length > 12 ? `${names.slice(0, 12).join(', ')}, ... (${names.length})` : names.join(', ');
}

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** A column for one input from per-row values; each value is checked against the input's type. */
function columnOf(
  input: SignatureInput,
  n: number,
  valueAt: (i: number) => unknown,
  where: (i: number) => string,
): Column {
  if (NUMERIC.has(input.type)) {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = valueAt(i);
      if (v === null) c[i] = Number.NaN;
      else if (typeof v === 'number' && Number.isFinite(v)) {
        if (input.type === 'int64' && !Number.isInteger(v))
          throw new InvalidParameterError(
            `${where(i)}: feature '${input.name}' must be a whole number (int64), got ${v}`,
          );
        c[i] = v;
      } else
        throw new InvalidParameterError(
          `${where(i)}: feature '${input.name}' must be a number (${input.type}) or null, got ${describe(v)}`,
        );
    }
    return c;
  }
  const c = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const v = valueAt(i);
    if (v === null) c[i] = input.type === 'string' ? '' : null;
    else if (typeof v === 'string') c[i] = v;
    else if (input.type === 'categorical' && typeof v === 'number' && Number.isFinite(v)) c[i] = String(v);
    else
      throw new InvalidParameterError(
        `${where(i)}: feature '${input.name}' must be ${input.type === 'string' ? 'a string' : 'a category (string)'}, got ${describe(v)}`,
      );
  }
  return c;
}

function checkCount(n: number): void {
  if (n === 0) throw new InvalidParameterError('Send at least one row to score');
  if (n > MAX_ROWS)
    throw new InvalidParameterError(`${n} rows in one request; at most ${MAX_ROWS}, split the request`);
}

/**
 * Builds the dataset a model scores from JSON rows (`instances` or `dataframe_records`):
 * every row must carry exactly the signature's features (null marks a missing value),
 * each of its type. The error names the row and the feature.
 *
 * @example
 * const ds = rowsToDataset(signature, [{ age: 31, plan: 'pro' }]);
 */
export function rowsToDataset(sig: ModelSignature, rows: readonly Record<string, unknown>[]): Dataset {
  checkCount(rows.length);
  const wanted = new Set(sig.inputs.map((i) => i.name));
  rows.forEach((row, i) => {
    for (const k of Object.keys(row)) {
      if (!wanted.has(k))
        throw new InvalidParameterError(`row ${i}: unknown feature '${k}'; the model takes: ${known(sig)}`);
    }
    for (const f of sig.inputs) {
      if (!Object.hasOwn(row, f.name))
        throw new InvalidParameterError(
          `row ${i}: missing feature '${f.name}' (send null for a missing value); the model takes: ${known(sig)}`,
        );
    }
  });
  const columns = new Map<string, Column>();
  for (const input of sig.inputs) {
    columns.set(
      input.name,
      columnOf(
        input,
        rows.length,
        (i) => rows[i]![input.name],
        (i) => `row ${i}`,
      ),
    );
  }
  return { rowCount: rows.length, columns };
}

/**
 * Builds the dataset from feature columns (online features read for entity rows): each
 * signature input from the column of that name; a feature the columns lack is named.
 */
export function columnsToDataset(
  sig: ModelSignature,
  columns: ReadonlyMap<string, readonly unknown[]>,
  rows: number,
  source: string,
): Dataset {
  checkCount(rows);
  const out = new Map<string, Column>();
  for (const input of sig.inputs) {
    const values = columns.get(input.name);
    if (!values)
      throw new InvalidParameterError(
        `${source} does not serve feature '${input.name}', which the model takes; serve it from the feature service or send the features as instances`,
      );
    out.set(
      input.name,
      columnOf(
        input,
        rows,
        (i) => values[i] ?? null,
        (i) => `entity row ${i}`,
      ),
    );
  }
  return { rowCount: rows, columns: out };
}

/** An Open Inference Protocol v2 input tensor as JSON. */
export interface V2Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data: readonly unknown[];
}

const V2_NUMERIC = new Set([
  'FP16',
  'FP32',
  'FP64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
]);

/** The v2 datatype a signature input is sent as. */
export function v2Datatype(type: SignatureInput['type']): string {
  return type === 'float' ? 'FP32' : type === 'double' ? 'FP64' : type === 'int64' ? 'INT64' : 'BYTES';
}

function flat(data: readonly unknown[]): unknown[] {
  return data.some(Array.isArray) ? (data as unknown[]).flat(Number.POSITIVE_INFINITY) : [...data];
}

function checkShape(t: V2Tensor, values: number): void {
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (size !== values)
    throw new InvalidParameterError(
      `input '${t.name}': shape [${t.shape.join(', ')}] holds ${size} value(s) but data has ${values}`,
    );
}

/**
 * Turns v2 input tensors into the model's feeds. Two forms: one tensor per signature
 * feature, shape [N] or [N, 1] (built into feeds as JSON rows are, so categories and
 * missing values mean the same), or the signature's packed tensor by its name, shape [N, D],
 * fed as is. Names, shapes, datatypes and values are checked first.
 *
 * @example
 * v2Feeds(sig, [{ name: 'age', shape: [2, 1], datatype: 'FP64', data: [31, 40] }]);
 */
export function v2Feeds(
  sig: ModelSignature,
  inputs: readonly V2Tensor[],
): { feeds: Record<string, import('onnxruntime-node').Tensor>; rows: number; dataset?: Dataset } {
  const seen = new Set<string>();
  for (const t of inputs) {
    if (seen.has(t.name)) throw new InvalidParameterError(`input '${t.name}' is sent twice`);
    seen.add(t.name);
  }
  const packed = sig.tensorInput;
  if (packed && inputs.length === 1 && inputs[0]!.name === packed.name) {
    const t = inputs[0]!;
    const d = sig.inputs.length;
    if (t.shape.length !== 2 || t.shape[1] !== d)
      throw new InvalidParameterError(
        `input '${t.name}' must have shape [N, ${d}], got [${t.shape.join(', ')}]`,
      );
    if (!V2_NUMERIC.has(t.datatype))
      throw new InvalidParameterError(
        `input '${t.name}' must be numeric (${v2Datatype(packed.elementType)}), got ${t.datatype}`,
      );
    const data = flat(t.data);
    checkShape(t, data.length);
    const n = t.shape[0]!;
    checkCount(n);
    for (const [i, v] of data.entries()) {
      if (typeof v !== 'number' || Number.isNaN(v))
        throw new InvalidParameterError(`input '${t.name}': value ${i} must be a number, got ${describe(v)}`);
    }
    const nums = data as number[];
    const typed =
      packed.elementType === 'float'
        ? new Tensor('float32', Float32Array.from(nums), [n, d])
        : packed.elementType === 'double'
          ? new Tensor('float64', Float64Array.from(nums), [n, d])
          : new Tensor(
              'int64',
              BigInt64Array.from(nums, (v) => BigInt(Math.round(v))),
              [n, d],
            );
    return { feeds: { [packed.name]: typed }, rows: n };
  }
  const byName = new Map(inputs.map((t) => [t.name, t]));
  for (const t of inputs) {
    if (!sig.inputs.some((i) => i.name === t.name))
      throw new InvalidParameterError(
        `unknown input '${t.name}'; the model takes: ${known(sig)}${packed ? ` (or '${packed.name}' as one [N, ${sig.inputs.length}] tensor)` : ''}`,
      );
  }
  let rows: number | undefined;
  const columns = new Map<string, Column>();
  for (const input of sig.inputs) {
    const t = byName.get(input.name);
    if (!t) throw new InvalidParameterError(`missing input '${input.name}'; the model takes: ${known(sig)}`);
    if (t.shape.length < 1 || t.shape.length > 2 || (t.shape.length === 2 && t.shape[1] !== 1))
      throw new InvalidParameterError(
        `input '${t.name}' must have shape [N] or [N, 1], got [${t.shape.join(', ')}]`,
      );
    const numeric = NUMERIC.has(input.type);
    if (numeric ? !V2_NUMERIC.has(t.datatype) : t.datatype !== 'BYTES' && input.type !== 'categorical')
      throw new InvalidParameterError(
        `input '${t.name}' must be ${v2Datatype(input.type)}, got ${t.datatype}`,
      );
    const data = flat(t.data);
    checkShape(t, data.length);
    const n = t.shape[0]!;
    if (rows !== undefined && n !== rows)
      throw new InvalidParameterError(`input '${t.name}' has ${n} rows, other inputs have ${rows}`);
    rows = n;
    columns.set(
      input.name,
      columnOf(
        input,
        n,
        (i) => data[i],
        (i) => `input '${t.name}' row ${i}`,
      ),
    );
  }
  const n = rows ?? 0;
  checkCount(n);
  const dataset = { rowCount: n, columns };
  return { feeds: buildFeeds(sig, dataset), rows: n, dataset };
}
