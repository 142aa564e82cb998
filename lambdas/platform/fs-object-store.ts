import { randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { assertSafeKey, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store';

/**
 * Object store on the local filesystem: `<root>/<bucket>/<key>`. Writes go to a temporary
 * file first and are renamed into place, so a reader sees the whole object or none.
 *
 * @example
 * const store = new FsObjectStore('.mlops/s3');
 * await store.put('artifacts', 'runs/1/model.onnx', bytes);
 */
export class FsObjectStore implements ObjectStore {
  constructor(readonly root: string) {}

  private path(bucket: string, key: string): string {
    assertSafeKey(bucket);
    assertSafeKey(key);
    return join(this.root, bucket, key);
  }

  async put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    const target = this.path(bucket, key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(this.root, '.tmp', randomUUID());
    await mkdir(dirname(tmp), { recursive: true });
    await writeFile(tmp, body);
    if (options?.ifNoneMatch) {
      // link() fails when the target exists: an atomic create-if-absent.
      try {
        await link(tmp, target);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
    }
    await rename(tmp, target);
    return true;
  }

  async get(bucket: string, key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.path(bucket, key)));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.path(bucket, key));
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    assertSafeKey(bucket);
    const base = join(this.root, bucket);
    // Walk only the directory that can hold the prefix, not the whole bucket.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (dirPart) assertSafeKey(dirPart);
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile()) {
          const key = relative(base, full).split(sep).join('/');
          if (key.startsWith(prefix)) {
            const s = await stat(full);
            out.push({ key, size: s.size, lastModified: s.mtime });
          }
        }
      }
    };
    await walk(join(base, dirPart));
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(bucket: string, key: string): Promise<void> {
    await rm(this.path(bucket, key), { force: true });
  }

  uri(bucket: string, key: string): string {
    return this.path(bucket, key);
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
