import { randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import {
  assertSafeKey,
  type ObjectInfo,
  ObjectKeyError,
  type ObjectStore,
  type PutOptions,
} from './object-store';

/** The longest file name most filesystems hold (NAME_MAX), in bytes. */
const MAX_SEGMENT_BYTES = 255;

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
    for (const segment of key.split('/')) {
      if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
        throw new ObjectKeyError(key, `a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
      }
    }
    return join(this.root, bucket, key);
  }

  async put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean> {
    const target = this.path(bucket, key);
    // Named by the writer's pid, so a restart can tell a dead writer's leftovers (removeStaleTempFiles).
    const tmp = join(this.root, TEMP_DIR, `${process.pid}-${randomUUID()}`);
    await mkdir(dirname(tmp), { recursive: true });
    await writeFile(tmp, body);
    try {
      // A delete may prune the parent directory between mkdir and the move: try once more.
      for (let attempt = 0; ; attempt++) {
        await this.makeParent(key, target);
        try {
          return await this.place(tmp, key, target, options);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw err;
        }
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Creates the key's parent directories; a file on the way is a clash, not a crash. */
  private async makeParent(key: string, target: string): Promise<void> {
    try {
      await mkdir(dirname(target), { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EEXIST') {
        throw new ObjectKeyError(key, 'a parent of the key is an object, not a directory');
      }
      throw err;
    }
  }

  private async place(tmp: string, key: string, target: string, options?: PutOptions): Promise<boolean> {
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isDirectory()) {
      // S3 has no directories: an empty one left by deletes is not an object, so it goes.
      await rmdir(target).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') {
          throw new ObjectKeyError(key, 'the key is a directory holding other objects');
        }
        if (err.code !== 'ENOENT') throw err;
      });
    }
    if (options?.ifNoneMatch) {
      // link() fails when the target exists: an atomic create-if-absent.
      try {
        await link(tmp, target);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
    }
    try {
      await rename(tmp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'ENOTDIR') {
        throw new ObjectKeyError(key, 'the key is a directory holding other objects');
      }
      throw err;
    }
    return true;
  }

  async get(bucket: string, key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.path(bucket, key)));
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
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
        // A writer killed mid-write leaves `<file>.tmp-<uuid>`: never an object.
        if (IN_PLACE_TEMP.test(e.name)) continue;
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

  /** Deletes a file; a directory is not an object (a no-op, as on S3). Empty parents are pruned. */
  async delete(bucket: string, key: string): Promise<void> {
    const target = this.path(bucket, key);
    const s = await stat(target).catch(() => undefined);
    if (!s?.isFile()) return;
    await rm(target, { force: true });
    // Leave no empty directories behind: S3 has none, and one would clash with a later
    // object of the same name.
    const bucketDir = join(this.root, bucket);
    for (let dir = dirname(target); dir.startsWith(bucketDir + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  uri(bucket: string, key: string): string {
    return this.path(bucket, key);
  }
}

const TEMP_DIR = '.tmp';
const IN_PLACE_TEMP = /\.tmp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Removes what killed writers left under an object store root: temporary files of `put`
 * whose writer process is gone, and `<file>.tmp-<uuid>` files (written beside their target
 * by the training-set writers) older than `inPlaceAgeMs`. Returns how many it removed.
 *
 * @example
 * await removeStaleTempFiles('.mlops/s3');
 */
export async function removeStaleTempFiles(
  root: string,
  options: { inPlaceAgeMs?: number; now?: number } = {},
): Promise<number> {
  const now = options.now ?? Date.now();
  const minAge = options.inPlaceAgeMs ?? 10 * 60_000;
  let removed = 0;
  const tempDir = join(root, TEMP_DIR);
  for (const name of await readdir(tempDir).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) continue;
    if (pid === process.pid) continue;
    await rm(join(tempDir, name), { force: true });
    removed++;
  }
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory() && e.name !== TEMP_DIR) await walk(full);
      else if (e.isFile() && IN_PLACE_TEMP.test(e.name)) {
        const s = await stat(full).catch(() => undefined);
        if (s && now - s.mtimeMs >= minAge) {
          await rm(full, { force: true });
          removed++;
        }
      }
    }
  };
  await walk(root);
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
