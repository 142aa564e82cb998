import { parse as parseYaml } from 'yaml';
import { InvalidParameterError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { checkRelativePath } from '../../tracking/artifacts/artifact-paths';
import { type ModelSignature, ModelSignatureSchema } from '../inference/signature';

/** A registered model's files: the ONNX bytes, where they are, and the declared signature. */
export interface ModelFiles {
  /** Bucket key of the `.onnx` file. */
  readonly onnxKey: string;
  readonly bytes: Uint8Array;
  readonly signature: ModelSignature;
}

const NO_SIGNATURE =
  "Serving needs the model's signature: a signature.json beside the .onnx file (or `mlops_signature` in MLmodel), " +
  'as the pipeline logs it; see docs/training.md for its shape.';

/**
 * Reads a model version's files at a source key: the `.onnx` object itself, or an MLflow
 * model directory whose `MLmodel` names it (`flavors.onnx.data`); the signature is
 * `signature.json` in that directory, else `mlops_signature` in `MLmodel`. Throws
 * InvalidParameterError naming what is missing.
 *
 * @example
 * const { bytes, signature } = await readModelFiles(store, 'artifacts', 'artifacts/1/abc/artifacts/model');
 */
export async function readModelFiles(store: ObjectStore, bucket: string, key: string): Promise<ModelFiles> {
  let dir = key.replace(/\/+$/, '');
  let onnxKey: string;
  let mlmodel: Record<string, unknown> | undefined;
  if (dir.endsWith('.onnx')) {
    onnxKey = dir;
    dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/')));
  } else {
    mlmodel = await readMlmodel(store, bucket, `${dir}/MLmodel`);
    const data = (mlmodel?.flavors as { onnx?: { data?: unknown } } | undefined)?.onnx?.data;
    if (typeof data !== 'string')
      throw new InvalidParameterError(`No ONNX model at '${dir}' (no MLmodel with an onnx flavor)`);
    onnxKey = `${dir}/${checkRelativePath(data, 'flavors.onnx.data')}`;
  }
  const [bytes, sigBytes] = await Promise.all([
    store.get(bucket, onnxKey),
    store.get(bucket, dir ? `${dir}/signature.json` : 'signature.json'),
  ]);
  if (!bytes) throw new InvalidParameterError(`The model file '${onnxKey}' is missing`);
  let declared: unknown;
  if (sigBytes) {
    try {
      declared = JSON.parse(Buffer.from(sigBytes).toString('utf8'));
    } catch (err) {
      throw new InvalidParameterError(`signature.json is not JSON: ${(err as Error).message}`);
    }
  } else {
    mlmodel ??= await readMlmodel(store, bucket, `${dir}/MLmodel`);
    declared = mlmodel?.mlops_signature;
  }
  if (declared === undefined) throw new InvalidParameterError(NO_SIGNATURE);
  const parsed = ModelSignatureSchema.safeParse(declared);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidParameterError(
      `Invalid model signature at '${issue?.path.join('.')}': ${issue?.message}`,
    );
  }
  return { onnxKey, bytes, signature: parsed.data };
}

async function readMlmodel(
  store: ObjectStore,
  bucket: string,
  key: string,
): Promise<Record<string, unknown> | undefined> {
  const raw = await store.get(bucket, key);
  if (!raw) return undefined;
  try {
    const doc = parseYaml(Buffer.from(raw).toString('utf8'));
    return doc && typeof doc === 'object' ? (doc as Record<string, unknown>) : undefined;
  } catch (err) {
    throw new InvalidParameterError(`The MLmodel file is not valid YAML: ${(err as Error).message}`);
  }
}
