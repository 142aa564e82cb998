import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import { ObjectKeyError, type ObjectStore } from '../../platform/object-store';
import { checkRelativePath, type ProxiedPath, parseProxiedPath } from './artifact-paths';

export interface FileInfo {
  readonly path: string;
  readonly is_dir: boolean;
  readonly file_size?: number;
}

/** A download: the bytes when small, else the object's key and size (to answer with a redirect). */
export type Download = { readonly bytes: Uint8Array } | { readonly key: string; readonly size: number };

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
    const p = await this.writable(path);
    try {
      await this.store.put(this.bucket, p.key, body);
    } catch (err) {
      if (err instanceof ObjectKeyError) throw clash(path, err.message);
      throw err;
    }
  }

  /**
   * Checks a proxied path a file may be written to: it names a file under the run's
   * root, no directory is there, and no parent is a file (S3 would allow both, and a
   * listing would then show one name twice; the filesystem store cannot hold them).
   */
  async writable(path: string): Promise<ProxiedPath> {
    const p = parseProxiedPath(path);
    if (!p.relative)
      throw new InvalidParameterError(`Artifact path '${path}' names the run's root, not a file`);
    const root = p.key.slice(0, p.key.length - p.relative.length - 1);
    const segments = p.relative.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = `${root}/${segments.slice(0, i).join('/')}`;
      if (await this.store.head(this.bucket, parent)) {
        throw clash(path, `'${segments.slice(0, i).join('/')}' is a file, not a directory`);
      }
    }
    if ((await this.store.list(this.bucket, `${p.key}/`)).length > 0) {
      throw clash(path, `'${p.relative}' is a directory`);
    }
    return p;
  }

  /** The file at a proxied path: its bytes up to `inlineMax` bytes, else its key and size. */
  async download(path: string, inlineMax = Number.POSITIVE_INFINITY): Promise<Download> {
    const p = parseProxiedPath(path);
    const info = p.relative ? await this.store.head(this.bucket, p.key) : undefined;
    if (!info) throw new NotFoundError(`Artifact '${path}' does not exist`);
    if (info.size > inlineMax) return { key: p.key, size: info.size };
    const bytes = await this.store.get(this.bucket, p.key);
    if (!bytes) throw new NotFoundError(`Artifact '${path}' does not exist`);
    return { bytes };
  }

  /** The keys a delete of a proxied path removes: the file, or every file under the directory. */
  async keysUnder(path: string): Promise<string[]> {
    const p = parseProxiedPath(path);
    const under = (await this.store.list(this.bucket, `${p.key}/`)).map((o) => o.key);
    return (await this.store.head(this.bucket, p.key)) ? [p.key, ...under] : under;
  }

  /** Deletes a file, or every file under a directory. Deleting what is gone succeeds (retries). */
  async delete(path: string): Promise<void> {
    for (const key of await this.keysUnder(path)) await this.store.delete(this.bucket, key);
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

function clash(path: string, why: string): InvalidParameterError {
  return new InvalidParameterError(
    `Cannot write artifact '${path}': ${why}. A name is either a file or a directory.`,
  );
}
