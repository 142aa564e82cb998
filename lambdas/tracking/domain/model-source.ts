import { parse as parseYaml } from 'yaml';
import { InvalidParameterError, MlopsError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { checkRelativePath, storagePrefixOf } from '../artifacts/artifact-paths';

export const HOW_TO_EXPORT_ONNX =
  'Register an ONNX model: export it to ONNX (skl2onnx.to_onnx with zipmap disabled, torch.onnx.export, tf2onnx, ' +
  'onnxmltools) and log it with mlflow.onnx.log_model, then register that model directory or its .onnx file.';

/** Looks up what a source URI refers to: a run's artifact root, or another version's source. */
export interface SourceLookups {
  runArtifactUri(runId: string): Promise<string>;
  versionSource(name: string, versionOrAlias: string): Promise<string>;
}

/**
 * Resolves a model version `source` to the bucket key it names: `runs:/<run_id>/<path>`,
 * `mlflow-artifacts:/<exp>/<run>/artifacts/<path>`, `models:/<name>/<version>` or
 * `models:/<name>@<alias>`, or `s3://<artifacts bucket>/<key>`.
 */
export async function sourceKey(
  source: string,
  bucket: string,
  lookups: SourceLookups,
  depth = 0,
): Promise<string> {
  const runs = /^runs:\/{1,3}([\w-]+)\/?(.*)$/.exec(source);
  if (runs) {
    const root = storagePrefixOf(await lookups.runArtifactUri(runs[1] as string), bucket);
    if (!root)
      throw new InvalidParameterError(
        `The artifacts of run ${runs[1]} are not stored in this platform's bucket.`,
      );
    const rel = checkRelativePath(runs[2], 'source');
    return rel ? `${root}/${rel}` : root;
  }
  const models = /^models:\/{1,3}([^/@]+)(?:\/([^/]+)|@([\w-]+))$/.exec(source);
  if (models && depth < 3) {
    const ref = (models[2] ?? models[3]) as string;
    return sourceKey(await lookups.versionSource(models[1] as string, ref), bucket, lookups, depth + 1);
  }
  const key = storagePrefixOf(source.replace(/\/+$/, ''), bucket);
  if (key) return key;
  throw new InvalidParameterError(
    `Unsupported model source '${source}': use runs:/<run_id>/<path>, mlflow-artifacts:/..., models:/<name>/<version> or s3://${bucket}/<key>.`,
  );
}

/**
 * Reads the ONNX bytes at a key: the object itself when it is a file, else the MLflow
 * model directory's `MLmodel`, whose `flavors.onnx.data` names the .onnx file.
 */
export async function readOnnxAt(store: ObjectStore, bucket: string, key: string): Promise<Uint8Array> {
  const direct = key.endsWith('.onnx') ? await store.get(bucket, key) : undefined;
  if (direct) return direct;
  const mlmodel = await store.get(bucket, `${key}/MLmodel`);
  if (!mlmodel) {
    const file = await store.head(bucket, key);
    if (file)
      throw new InvalidParameterError(
        `The source is a file that is not an .onnx model. ${HOW_TO_EXPORT_ONNX}`,
      );
    throw new InvalidParameterError(
      `No model found at the source (no .onnx file and no MLmodel). ${HOW_TO_EXPORT_ONNX}`,
    );
  }
  let doc: { flavors?: Record<string, { data?: unknown } | undefined> } | null;
  try {
    doc = parseYaml(Buffer.from(mlmodel).toString('utf8'));
  } catch (err) {
    throw new InvalidParameterError(`The MLmodel file is not valid YAML: ${(err as Error).message}`);
  }
  const data = doc?.flavors?.onnx?.data;
  if (typeof data !== 'string') {
    const flavors = Object.keys(doc?.flavors ?? {}).join(', ') || 'none';
    throw new InvalidParameterError(
      `The MLmodel has no onnx flavor (flavors: ${flavors}). ${HOW_TO_EXPORT_ONNX}`,
    );
  }
  const rel = checkRelativePath(data, 'flavors.onnx.data');
  const bytes = await store.get(bucket, `${key}/${rel}`);
  if (!bytes)
    throw new InvalidParameterError(`MLmodel names '${data}', which is not in the model directory.`);
  return bytes;
}

/** The message a FAILED_REGISTRATION version carries: the user-facing cause, never internals. */
export function registrationFailure(err: unknown): string {
  if (err instanceof MlopsError && err.status < 500) {
    return err.message.includes('ONNX') || err.message.includes('onnx')
      ? err.message
      : `${err.message} ${HOW_TO_EXPORT_ONNX}`;
  }
  return `The model could not be checked: ${(err as Error).message ?? String(err)}. ${HOW_TO_EXPORT_ONNX}`;
}
