import { InvalidParameterError } from '../../platform/errors';
import type { MlflowCall } from './rest';
import type { ArtifactFile } from './types';

const PROXY_SCHEME = 'mlflow-artifacts:';

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

  /** The bytes of one artifact. */
  async download(runId: string, path: string): Promise<Uint8Array> {
    const body = await this.call('GET', await this.proxyPath(runId, path));
    // A JSON artifact comes back parsed: give the caller its bytes either way.
    return body instanceof Uint8Array ? body : new TextEncoder().encode(JSON.stringify(body));
  }

  /** Stores one artifact (≤5 MiB through the proxy; larger files need presigned uploads). */
  async upload(runId: string, path: string, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    await this.call('PUT', await this.proxyPath(runId, path), bytes);
  }

  private async proxyPath(runId: string, path: string): Promise<string> {
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
    return `/api/2.0/mlflow-artifacts/artifacts/${encoded}`;
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
