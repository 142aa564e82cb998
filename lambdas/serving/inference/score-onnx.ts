import { InferenceSession, Tensor } from 'onnxruntime-node';
import { InvalidParameterError } from '../../platform/errors';
import { type Dataset, isNumericColumn } from '../../training/data/dataset';
import type { ModelSignature, SignatureOutput } from './signature';

/**
 * Builds onnxruntime feeds for a dataset from a signature: one packed [N, D] tensor when the
 * signature has a `tensorInput`, otherwise one [N, 1] tensor per input. Categorical inputs
 * are fed as their category index (-1 when unseen or missing); a missing numeric value is
 * fed as NaN to a `nullable` input and refused otherwise.
 */
export function buildFeeds(sig: ModelSignature, ds: Dataset): Record<string, Tensor> {
  const n = ds.rowCount;
  const columnOf = (name: string): Float64Array | (string | null)[] => {
    const c = ds.columns.get(name);
    if (!c)
      throw new InvalidParameterError(`The model's signature needs column '${name}', which the data lacks`);
    return c;
  };
  const numeric = (input: ModelSignature['inputs'][number]): Float64Array => {
    const c = columnOf(input.name);
    if (input.type === 'categorical') {
      const index = new Map((input.categories ?? []).map((v, k) => [v, k]));
      return Float64Array.from({ length: n }, (_, i) => {
        const v = isNumericColumn(c) ? String(c[i]) : c[i];
        return v === null || v === undefined ? -1 : (index.get(v) ?? -1);
      });
    }
    if (!isNumericColumn(c))
      throw new InvalidParameterError(`Input '${input.name}' must be numeric for this model`);
    if (!input.nullable) {
      let missing = 0;
      for (let i = 0; i < n; i++) if (Number.isNaN(c[i]!)) missing++;
      if (missing > 0) {
        throw new InvalidParameterError(
          `Input '${input.name}' is missing in ${missing} of ${n} row(s), and the model's signature does not declare it nullable; fill those values, or declare nullable: true if the model fills missing values itself`,
        );
      }
    }
    return c;
  };
  if (sig.tensorInput) {
    const d = sig.inputs.length;
    const cols = sig.inputs.map(numeric);
    const t = sig.tensorInput.elementType;
    const buf =
      t === 'float'
        ? new Float32Array(n * d)
        : t === 'double'
          ? new Float64Array(n * d)
          : new BigInt64Array(n * d);
    for (let j = 0; j < d; j++) {
      const col = cols[j]!;
      for (let i = 0; i < n; i++) {
        if (buf instanceof BigInt64Array) buf[i * d + j] = BigInt(Math.round(col[i]!));
        else buf[i * d + j] = col[i]!;
      }
    }
    const type = t === 'float' ? 'float32' : t === 'double' ? 'float64' : 'int64';
    return { [sig.tensorInput.name]: new Tensor(type, buf, [n, d]) };
  }
  const feeds: Record<string, Tensor> = {};
  for (const input of sig.inputs) {
    if (input.type === 'string') {
      const c = columnOf(input.name);
      feeds[input.name] = new Tensor(
        'string',
        Array.from({ length: n }, (_, i) => String(c[i] ?? '')),
        [n, 1],
      );
    } else if (input.type === 'int64') {
      feeds[input.name] = new Tensor(
        'int64',
        BigInt64Array.from(numeric(input), (v) => BigInt(Math.round(v))),
        [n, 1],
      );
    } else if (input.type === 'float') {
      feeds[input.name] = new Tensor('float32', Float32Array.from(numeric(input)), [n, 1]);
    } else {
      feeds[input.name] = new Tensor('float64', Float64Array.from(numeric(input)), [n, 1]);
    }
  }
  return feeds;
}

/**
 * The output a model is scored by: `probability` (P(y = 1) is its last column), else
 * `regression`, else `score`. Training's evaluation, the registry check and serving all read
 * the same one, so a model means the same number everywhere.
 */
export function primaryOutput(sig: ModelSignature): SignatureOutput {
  const out =
    sig.outputs.find((o) => o.meaning === 'probability') ??
    sig.outputs.find((o) => o.meaning === 'regression') ??
    sig.outputs.find((o) => o.meaning === 'score');
  if (!out)
    throw new InvalidParameterError(
      'The signature declares no probability, regression or score output to evaluate',
    );
  return out;
}

/** One number per row from the primary output's tensor: the last column of a [N, K] tensor. */
export function primaryValues(t: Tensor, rows: number): Float64Array {
  const width = t.dims.length === 2 ? Number(t.dims[1]) : 1;
  const data = t.data as ArrayLike<number | bigint>;
  const out = new Float64Array(rows);
  // A plain loop: Float64Array.from with a callback took a few percent of batch scoring's main thread.
  if (data instanceof Float32Array || data instanceof Float64Array) {
    for (let i = 0, at = width - 1; i < rows; i++, at += width) out[i] = data[at] as number;
  } else for (let i = 0; i < rows; i++) out[i] = Number(data[i * width + width - 1]!);
  return out;
}

/**
 * Scores a dataset with any ONNX model and its signature: returns P(y = 1) per row (the
 * last column of the `probability` output) or the `regression`/`score` output.
 *
 * @example
 * const p = await scoreOnnx(bytes, signature, testSet);
 */
export async function scoreOnnx(bytes: Uint8Array, sig: ModelSignature, ds: Dataset): Promise<Float64Array> {
  const out = primaryOutput(sig);
  const session = await InferenceSession.create(bytes);
  try {
    const result = await session.run(buildFeeds(sig, ds), [out.name]);
    return primaryValues(result[out.name]!, ds.rowCount);
  } finally {
    await session.release();
  }
}
