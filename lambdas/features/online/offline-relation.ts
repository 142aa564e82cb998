import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '../../platform/object-store';
import { type DuckDbEngine, literal } from '../duckdb-engine';
import { committedBatches } from '../offline-store';
import { q } from '../render-sql';
import type { ResolvedView } from '../repo';
import { sqlType } from '../sql-types';
import { relationName } from '../training-set';

/**
 * Registers a view's committed offline rows as a DuckDB view, reading only the date partitions
 * in [from, to] (epoch micros; the layout partitions by UTC event date). Objects the engine
 * cannot read in place (S3 on Lambda) are copied to a scratch folder first.
 *
 * @example
 * const rel = await registerOfflineRows(engine, store, 'features', view, from, to);
 */
export async function registerOfflineRows(
  engine: DuckDbEngine,
  store: ObjectStore,
  bucket: string,
  view: ResolvedView,
  from: number,
  to: number,
): Promise<string> {
  const first = dateOf(from);
  const last = dateOf(to);
  const keys = (await committedBatches(store, bucket, view.def.name))
    .flatMap((m) => m.files)
    .filter((k) => {
      const d = /\/date=(\d{4}-\d{2}-\d{2})\//.exec(k)?.[1];
      return d === undefined || (d >= first && d <= last);
    });
  const files: string[] = [];
  for (const key of keys) {
    const uri = store.uri(bucket, key);
    if (!uri.startsWith('s3://')) files.push(uri);
    else {
      const local = join(tmpdir(), 'mlops-offline', bucket, key);
      await mkdir(join(local, '..'), { recursive: true });
      await writeFile(local, (await store.get(bucket, key)) ?? new Uint8Array());
      files.push(local);
    }
  }
  const cols = [...view.columns].map(([name, type]) => ({ name, type: sqlType(type) }));
  const body =
    files.length > 0
      ? `SELECT ${cols.map((c) => `CAST(${q(c.name)} AS ${c.type}) AS ${q(c.name)}`).join(', ')} FROM read_parquet([${files.map(literal).join(', ')}], hive_partitioning = false, union_by_name = true)`
      : `SELECT ${cols.map((c) => `CAST(NULL AS ${c.type}) AS ${q(c.name)}`).join(', ')} WHERE false`;
  const rel = relationName(view.def.name);
  await engine.run(`CREATE OR REPLACE TEMP VIEW ${q(rel)} AS ${body}`);
  return rel;
}

function dateOf(micros: number): string {
  const ms = Math.min(Math.max(micros / 1000, -8.64e15), 8.64e15);
  return new Date(ms).toISOString().slice(0, 10);
}
