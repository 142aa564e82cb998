import { InvalidParameterError } from '../../platform/errors';
import type { MlflowCall } from './rest';
import type { ArtifactFile } from './types';

const PROXY_SCHEME = 'mlflow-artifacts:';

/** Larger files go up in parts (a function's payload carries 4 MiB of artifact). */
export const PROXY_UPLOAD_MAX_BYTES = 4 * 1024 * 1024;
/** Part size of multipart uploads (S3 needs at least 5 MiB for every part but the last). */
export const MULTIPART_CHUNK_BYTES = 10 * 1024 * 1024;

/**
 * A run's artifacts through the API's artifact proxy (`/api/2.0/mlflow-artifacts/`), as
 * MLflow's own client uses it when a run's root is `mlflow-artifacts:/...`.
 *
 * @example
 * const artifacts = new ArtifactClient(call);
 * await artifacts.upload(runId, 'reports/summary.json', JSON.stringify(summary));
 * const bytes = await artifacts.download(runId, 'reports/summary.json');
 */
export class ArtifactClient {
  private readonly roots = new Map<string, string>();

  constructor(private readonly call: MlflowCall) {}

  /** Files and folders directly under `path` of a run's artifacts, every page read. */
  async list(runId: string, path?: string): Promise<ArtifactFile[]> {
    if (path !== undefined) checkPath(path);
    const out: ArtifactFile[] = [];
    let token: string | undefined;
    do {
      const r = await this.call('GET', 'artifacts/list', { run_id: runId, path, page_token: token });
      out.push(...(r.files ?? []));
      token = r.next_page_token;
    } while (token);
    return out;
  }

  /** The bytes of one artifact (a large one is fetched from the presigned URL the proxy redirects to). */
  async download(runId: string, path: string): Promise<Uint8Array> {
    const body = await this.call('GET', await this.proxyPath(runId, path, 'artifacts'));
    // A JSON artifact comes back parsed: give the caller its bytes either way.
    return body instanceof Uint8Array ? body : new TextEncoder().encode(JSON.stringify(body));
  }

  /**
   * Stores one artifact: through the proxy up to 4 MiB, else as MLflow's client does with
   * MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: mpu/create, each part PUT to its presigned URL,
   * mpu/complete (mpu/abort when a part fails).
   */
  async upload(runId: string, path: string, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    if (bytes.byteLength <= PROXY_UPLOAD_MAX_BYTES) {
      await this.call('PUT', await this.proxyPath(runId, path, 'artifacts'), bytes);
      return;
    }
    const numParts = Math.ceil(bytes.byteLength / MULTIPART_CHUNK_BYTES);
    const created = await this.call('POST', await this.proxyPath(runId, path, 'mpu/create'), {
      num_parts: numParts,
    });
    const uploadId = created.upload_id as string;
    try {
      const parts: { part_number: number; etag: string }[] = [];
      for (const cred of created.credentials as { part_number: number; url: string }[]) {
        const start = (cred.part_number - 1) * MULTIPART_CHUNK_BYTES;
        const chunk = bytes.subarray(start, start + MULTIPART_CHUNK_BYTES);
        // Presigned: the URL is the credential, so no auth headers go along.
        const res = await fetch(cred.url, { method: 'PUT', body: chunk });
        await res.arrayBuffer();
        const etag = res.headers.get('etag');
        if (!res.ok || !etag)
          throw new InvalidParameterError(`part ${cred.part_number} upload answered ${res.status}`);
        parts.push({ part_number: cred.part_number, etag });
      }
      await this.call('POST', await this.proxyPath(runId, path, 'mpu/complete'), {
        upload_id: uploadId,
        parts,
      });
    } catch (err) {
      await this.call('POST', await this.proxyPath(runId, path, 'mpu/abort'), { upload_id: uploadId }).catch(
        () => undefined,
      );
      throw err;
    }
  }

  private async proxyPath(runId: string, path: string, endpoint: string): Promise<string> {
    checkPath(path);
    let root = this.roots.get(runId);
    if (!root) {
      root = (await this.call('GET', 'runs/get', { run_id: runId })).run.info.artifact_uri as string;
      this.roots.set(runId, root);
    }
    if (!root.startsWith(PROXY_SCHEME))
      throw new InvalidParameterError(
        `run ${runId} stores artifacts at ${root}, not through the API's proxy: read them from there directly`,
      );
    const rel = root.slice(PROXY_SCHEME.length).replace(/^\/+/, '');
    const encoded = `${rel}/${path}`.split('/').map(encodeURIComponent).join('/');
    return `/api/2.0/mlflow-artifacts/${endpoint}/${encoded}`;
  }
}

/** Refuses paths the proxy would refuse, before any request: relative, no empty, `.` or `..` segment. */
function checkPath(path: string): void {
  const bad =
    path.startsWith('/') || path.includes('\\') || path.split('/').some((s) => s === '.' || s === '..');
  if (bad || (path !== '' && path.split('/').some((s) => s === '')))
    throw new InvalidParameterError(
      `artifact path '${path}' must be relative, like 'model/model.onnx' (no leading '/', '.', '..' or empty segments)`,
    );
}
