/**
 * The object-store port: what domain code needs of S3. Two adapters implement it:
 * `S3ObjectStore` (AWS, or any S3 endpoint) and `FsObjectStore` (the local runtime's
 * filesystem layout `<root>/<bucket>/<key>`, which DuckDB can read directly).
 */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface PutOptions {
  readonly contentType?: string;
  /** Only write when no object exists under the key (an idempotent create). Returns false when one did. */
  readonly ifNoneMatch?: boolean;
}

export interface ObjectStore {
  /** Writes the whole object or nothing (readers never see a partial object). */
  put(bucket: string, key: string, body: Uint8Array | string, options?: PutOptions): Promise<boolean>;
  /** The object's bytes, or undefined when there is none. */
  get(bucket: string, key: string): Promise<Uint8Array | undefined>;
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with prefix, in key order. */
  list(bucket: string, prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the object; deleting a missing object is not an error. */
  delete(bucket: string, key: string): Promise<void>;
  /**
   * A URI engines can read the object from: `s3://bucket/key` on AWS, an absolute file
   * path locally (DuckDB reads local files; httpfs is not available everywhere).
   */
  uri(bucket: string, key: string): string;
}

/**
 * A key the store cannot hold: on a filesystem, a key where a directory is (or under a key
 * that is a file), or a segment longer than 255 bytes. S3 keys are flat and never clash;
 * callers map this to a 4xx.
 */
export class ObjectKeyError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'ObjectKeyError';
  }
}

/** Rejects keys that could escape their prefix or the store's root. */
export function assertSafeKey(key: string): void {
  if (key.length === 0 || key.length > 1024) throw new RangeError('object key must be 1 to 1024 characters');
  const parts = key.split('/');
  if (key.startsWith('/') || parts.some((p) => p === '..' || p === '.') || key.includes('\0')) {
    throw new RangeError(`object key '${key}' must be relative and must not contain '.' or '..' segments`);
  }
}
