import { Tensor } from 'onnxruntime-node';
import { InvalidParameterError } from '../../platform/errors';
import { ORT_OF_V2, V2_OF_ORT } from './triton';

/**
 * KServe v2 (Open Inference Protocol) tensors as JSON, the body Triton takes and answers at
 * SageMaker's `/invocations`: what the front sends and reads, and what the local stand-in
 * of the container parses and writes.
 */

/** A KServe v2 tensor as JSON: row-major data, int64 as numbers. */
export interface V2Tensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly (number | string | boolean)[];
}

function tensorJson(name: string, t: Tensor): V2Tensor {
  const data = Array.from(t.data as ArrayLike<number | bigint | string | boolean>, (v) =>
    typeof v === 'bigint' ? Number(v) : v,
  );
  return { name, datatype: V2_OF_ORT[t.type] ?? 'BYTES', shape: t.dims.map(Number), data };
}

/**
 * The body of a KServe v2 inference request for ONNX feeds, asking for `outputs`.
 *
 * @example
 * const body = kserveRequest({ features: new Tensor('float32', [1, 2], [1, 2]) }, ['probabilities']);
 */
export function kserveRequest(feeds: Record<string, Tensor>, outputs: readonly string[], id?: string) {
  return {
    ...(id ? { id } : {}),
    inputs: Object.entries(feeds).map(([name, t]) => tensorJson(name, t)),
    outputs: outputs.map((name) => ({ name })),
  };
}

/**
 * A KServe v2 inference answer for tensors, as Triton writes it.
 *
 * @example
 * kserveResponse('churn', '3', { probabilities }); // { model_name: 'churn', model_version: '3', outputs: [...] }
 */
export function kserveResponse(model: string, version: string, outputs: Record<string, Tensor>, id?: string) {
  return {
    model_name: model,
    model_version: version,
    ...(id ? { id } : {}),
    outputs: Object.entries(outputs).map(([name, t]) => tensorJson(name, t)),
  };
}

/** JSON has no NaN: a missing value travels as null and is NaN again here. */
const missingAsNaN = (v: unknown) => (v === null ? Number.NaN : Number(v));

/**
 * Tensors from KServe v2 JSON tensors; throws InvalidParameterError naming a malformed one.
 *
 * @example
 * const feeds = tensorsFromV2(JSON.parse(body).inputs); // { float_input: Tensor<float32> [3, 2] }
 */
export function tensorsFromV2(list: unknown): Record<string, Tensor> {
  if (!Array.isArray(list)) throw new InvalidParameterError('expected a list of tensors');
  const out: Record<string, Tensor> = {};
  for (const [i, raw] of list.entries()) {
    const t = raw as Partial<V2Tensor>;
    const where = `tensor ${i}${typeof t?.name === 'string' ? ` ('${t.name}')` : ''}`;
    if (!t || typeof t.name !== 'string' || !Array.isArray(t.shape) || !Array.isArray(t.data))
      throw new InvalidParameterError(`${where} needs name, shape and data`);
    const ort = ORT_OF_V2[String(t.datatype)];
    if (!ort) throw new InvalidParameterError(`${where} has unknown datatype '${t.datatype}'`);
    const shape = t.shape.map(Number);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0) || size !== t.data.length)
      throw new InvalidParameterError(`${where} has ${t.data.length} values for shape [${shape.join(', ')}]`);
    const data = t.data as unknown[];
    const typed =
      ort === 'int64'
        ? BigInt64Array.from(data, (v) => BigInt(Math.round(Number(v))))
        : ort === 'float32'
          ? Float32Array.from(data, missingAsNaN)
          : ort === 'float64'
            ? Float64Array.from(data, missingAsNaN)
            : ort === 'int32'
              ? Int32Array.from(data, Number)
              : ort === 'string'
                ? data.map(String)
                : ort === 'bool'
                  ? Uint8Array.from(data, (v) => (v ? 1 : 0))
                  : ort === 'int8'
                    ? Int8Array.from(data, Number)
                    : Uint8Array.from(data, Number);
    out[t.name] = new Tensor(ort as 'float32', typed as Float32Array, shape);
  }
  return out;
}
