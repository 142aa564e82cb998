import { InvalidParameterError } from '../../platform/errors';

/**
 * Artifact path rules. A run's artifacts live under `artifacts/<experiment>/<run>/artifacts/`
 * in the artifacts bucket; every path a client sends is checked so it cannot leave that
 * prefix: no `.`/`..` or empty segments, no absolute paths, no backslashes, no `%` left
 * after URL decoding (an encoded `%2e%2e` sent twice), no control characters.
 */
export const STORAGE_PREFIX = 'artifacts/';

/** Longest artifact path, leaving room for the storage prefix in a 1,024-byte S3 key. */
export const MAX_PATH_BYTES = 1000;
/** Longest name between slashes (NAME_MAX of common file systems). */
export const MAX_SEGMENT_BYTES = 255;

/** Checks a relative artifact path (may be empty, meaning the root); returns it normalized. */
export function checkRelativePath(path: string | undefined, what = 'path'): string {
  if (path === undefined || path === '' || path === '/') return '';
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  const bad =
    trimmed.startsWith('/') ||
    /^[a-zA-Z]:/.test(trimmed) ||
    trimmed.includes('\\') ||
    trimmed.includes('%') ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is rejected
    /[\x00-\x1f]/.test(trimmed) ||
    trimmed.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) {
    throw new InvalidParameterError(
      `Invalid ${what} '${path}': artifact paths must be relative, without '.', '..' or empty segments, backslashes or percent-encoding.`,
    );
  }
  // S3 keys hold 1,024 bytes; file systems hold names of 255 bytes (the local runtime's store).
  if (Buffer.byteLength(trimmed) > MAX_PATH_BYTES) {
    throw new InvalidParameterError(`Invalid ${what}: artifact paths are at most ${MAX_PATH_BYTES} bytes.`);
  }
  const long = trimmed.split('/').find((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES);
  if (long !== undefined) {
    throw new InvalidParameterError(
      `Invalid ${what}: the name '${long.slice(0, 40)}...' is ${Buffer.byteLength(long)} bytes; each name in an artifact path is at most ${MAX_SEGMENT_BYTES} bytes.`,
    );
  }
  return trimmed;
}

/** A proxied artifact location: `<experiment_id>/<run_id>/artifacts[/<path>]`. */
export interface ProxiedPath {
  readonly experimentId: string;
  readonly runId: string;
  /** The path inside the run's artifact root ('' for the root). */
  readonly relative: string;
  /** The object key in the artifacts bucket. */
  readonly key: string;
}

/**
 * Parses a path under the artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/<path>`),
 * which MLflow clients build from a run's `mlflow-artifacts:/` artifact URI.
 *
 * @example
 * parseProxiedPath('1/abc/artifacts/model/model.onnx').key // 'artifacts/1/abc/artifacts/model/model.onnx'
 */
export function parseProxiedPath(path: string): ProxiedPath {
  const clean = checkRelativePath(path);
  const [experimentId, runId, root, ...rest] = clean.split('/');
  if (
    !experimentId ||
    !runId ||
    root !== 'artifacts' ||
    !/^[\w-]+$/.test(experimentId) ||
    !/^[\w-]+$/.test(runId)
  ) {
    throw new InvalidParameterError(
      `Invalid artifact path '${path}': expected '<experiment_id>/<run_id>/artifacts/<path>' as in a run's artifact_uri.`,
    );
  }
  const relative = rest.join('/');
  return { experimentId, runId, relative, key: `${STORAGE_PREFIX}${clean}` };
}

/**
 * The bucket prefix of a run's artifact root URI: `mlflow-artifacts:/1/abc/artifacts` or
 * `s3://<artifacts bucket>/artifacts/1/abc/artifacts`. Undefined for roots elsewhere.
 */
export function storagePrefixOf(artifactUri: string, bucket: string): string | undefined {
  const proxied = /^mlflow-artifacts:\/{1,3}(.*)$/.exec(artifactUri);
  if (proxied) return parseProxiedPath(proxied[1] as string).key;
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(artifactUri);
  if (s3 && s3[1] === bucket) return checkRelativePath(s3[2], 'artifact_uri');
  return undefined;
}
