import { NotFoundError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { checkRelativePath, parseProxiedPath } from './artifact-paths';

export interface FileInfo {
  readonly path: string;
  readonly is_dir: boolean;
  readonly file_size?: number;
}

/**
 * Artifacts in the artifacts bucket: the proxy's upload, download, list and delete, and
 * a run's listing for `artifacts/list`. Every key is built from a checked path.
 */
export class ArtifactService {
  constructor(
    private readonly store: ObjectStore,
    readonly bucket: string,
  ) {}

  /** Stores bytes at a proxied path (`<exp>/<run>/artifacts/<file>`). */
  async upload(path: string, body: Uint8Array): Promise<void> {
    const p = parseProxiedPath(path);
    if (!p.relative) throw new NotFoundError(`Artifact path '${path}' names the run's root, not a file`);
    await this.store.put(this.bucket, p.key, body);
  }

  /** The bytes at a proxied path, or RESOURCE_DOES_NOT_EXIST. */
  async download(path: string): Promise<Uint8Array> {
    const p = parseProxiedPath(path);
    const body = p.relative ? await this.store.get(this.bucket, p.key) : undefined;
    if (!body) throw new NotFoundError(`Artifact '${path}' does not exist`);
    return body;
  }

  /** Deletes a file, or every file under a directory. */
  async delete(path: string): Promise<void> {
    const p = parseProxiedPath(path);
    const under = await this.store.list(this.bucket, `${p.key}/`);
    for (const o of under) await this.store.delete(this.bucket, o.key);
    await this.store.delete(this.bucket, p.key);
  }

  /** Direct children (files and directories) of a proxied directory path; paths are relative to it. */
  async listProxied(path: string | undefined): Promise<FileInfo[]> {
    const rel = checkRelativePath(path);
    if (rel === '') return [];
    const p = parseProxiedPath(rel);
    return (await this.children(p.key)).map((f) => ({ ...f, path: f.path }));
  }

  /**
   * Direct children of `path` under a run's artifact root (a bucket prefix), with paths
   * relative to the root as `artifacts/list` answers them.
   */
  async listUnder(rootKey: string, path: string | undefined): Promise<FileInfo[]> {
    const rel = checkRelativePath(path);
    const base = rel ? `${rootKey}/${rel}` : rootKey;
    return (await this.children(base)).map((f) => ({ ...f, path: rel ? `${rel}/${f.path}` : f.path }));
  }

  private async children(baseKey: string): Promise<FileInfo[]> {
    const prefix = `${baseKey}/`;
    const dirs = new Set<string>();
    const files: FileInfo[] = [];
    for (const o of await this.store.list(this.bucket, prefix)) {
      const rest = o.key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) files.push({ path: rest, is_dir: false, file_size: o.size });
      else dirs.add(rest.slice(0, slash));
    }
    return [...[...dirs].sort().map((d) => ({ path: d, is_dir: true })), ...files];
  }
}
