import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '../../platform/object-store';
import type { ResolvedView } from '../definitions/repo';
import type { DuckDbEngine } from './duckdb-engine';
import { committedBatches } from './offline-store';
import { type DateRange, dateRangeOf, partitionDate } from './partition-dates';
import { literal, q } from './render-sql';
import { sqlType } from './sql-types';

/** A registered view's relation, and how many of its committed files it reads. */
export interface OfflineRows {
  readonly relation: string;
  readonly files: number;
  readonly committed: number;
}

/**
 * Registers a view's committed offline rows as a DuckDB view (`fv_<view>`, columns cast to
 * their declared types), reading only the `date=` partitions in `dates` (`'all'`: every
 * one; undefined: none; a function: the range it picks from the committed files' range).
 * Files outside the `date=YYYY-MM-DD` layout are always read.
 * Objects the engine cannot read in place (S3 on Lambda) are copied to a scratch folder first.
 *
 * @example
 * const { relation } = await registerOfflineRows(engine, store, 'features', view, datesBetween(from, to));
 */
export async function registerOfflineRows(
  engine: DuckDbEngine,
  store: ObjectStore,
  bucket: string,
  view: ResolvedView,
  dates: DateRange | 'all' | ((committed: DateRange) => DateRange),
): Promise<OfflineRows & { dates: DateRange | 'all' }> {
  const committed = (await committedBatches(store, bucket, view.def.name)).flatMap((m) => m.files);
  const range = typeof dates === 'function' ? dates(dateRangeOf(committed)) : dates;
  const keys =
    range === 'all'
      ? committed
      : committed.filter((k) => {
          const d = partitionDate(k);
          return d === undefined || (range !== undefined && d >= range.from && d <= range.to);
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
  const relation = relationName(view.def.name);
  await engine.run(`CREATE OR REPLACE TEMP VIEW ${q(relation)} AS ${body}`);
  return { relation, files: files.length, committed: committed.length, dates: range };
}

/** The relation name a view's offline rows are registered under. */
export function relationName(view: string): string {
  return `fv_${view}`;
}
