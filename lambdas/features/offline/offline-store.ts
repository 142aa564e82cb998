import type { ObjectStore } from '../../platform/object-store';

/**
 * The offline store's layout, the same on S3 and on the local filesystem:
 * `offline/<view>/date=YYYY-MM-DD/<batch-id>-<n>.parquet` (Hive partitions by event date, UTC).
 * A batch becomes visible when its manifest `offline/<view>/_manifests/<batch-id>.json` is
 * written (one atomic PUT), so readers never see part of a batch.
 */
export interface BatchManifest {
  readonly batchId: string;
  readonly source: string;
  readonly view: string;
  readonly rows: number;
  readonly files: readonly string[];
  readonly ingestedAt: string;
}

/** Key prefix of a view's offline rows. */
export function viewPrefix(view: string): string {
  return `offline/${view}/`;
}

/** Key of a batch's manifest. */
export function manifestKey(view: string, batchId: string): string {
  return `offline/${view}/_manifests/${batchId}.json`;
}

/** Key prefix of a quarantined batch. */
export function quarantinePrefix(source: string, batchId: string): string {
  return `quarantine/${source}/${batchId}/`;
}

/** Manifests of every committed batch of a view, oldest key first. */
export async function committedBatches(
  store: ObjectStore,
  bucket: string,
  view: string,
): Promise<BatchManifest[]> {
  const infos = await store.list(bucket, `offline/${view}/_manifests/`);
  const out: BatchManifest[] = [];
  for (const info of infos) {
    const body = await store.get(bucket, info.key);
    if (body) out.push(JSON.parse(new TextDecoder().decode(body)) as BatchManifest);
  }
  return out;
}

/** Engine-readable URIs of every committed file of a view. */
export async function committedFiles(store: ObjectStore, bucket: string, view: string): Promise<string[]> {
  const manifests = await committedBatches(store, bucket, view);
  return manifests.flatMap((m) => m.files.map((k) => store.uri(bucket, k)));
}
