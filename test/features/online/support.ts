import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { buildRepo, type FeatureRepo } from '../../../lambdas/features/definitions/repo';
import type { OnDemandTransform } from '../../../lambdas/features/definitions/schema';
import { ingestBatch } from '../../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../../lambdas/features/offline/duckdb-engine';
import { DynamoOnlineTable, ensureOnlineTable } from '../../../lambdas/features/online/dynamo-online-table';
import { FsObjectStore } from '../../../lambdas/platform/fs-object-store';
import { localDynamoClients } from '../../../local/engines/dynamodb';

export const BUCKET = 'features';

/** A scratch offline store, DuckDB, a fresh online table in the test run's dynalite, and a repo. */
export interface OnlineWorld {
  readonly dir: string;
  readonly store: FsObjectStore;
  readonly engine: DuckDbEngine;
  readonly repo: FeatureRepo;
  readonly table: DynamoOnlineTable;
  readonly doc: DynamoDBDocumentClient;
  /** Writes rows as a CSV batch of `source` and ingests it into the offline store. */
  ingest(source: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  close(): Promise<void>;
}

export async function makeOnlineWorld(
  definitions: unknown,
  transforms?: ReadonlyMap<string, OnDemandTransform>,
): Promise<OnlineWorld> {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!endpoint) throw new Error('the test run’s dynalite is not started (global setup)');
  const dir = await mkdtemp(join(tmpdir(), 'online-test-'));
  const store = new FsObjectStore(join(dir, 's3'));
  const engine = await DuckDbEngine.create({ threads: 2 });
  const repo = buildRepo({ file: definitions, ...(transforms ? { transforms } : {}) });
  const { client, doc } = localDynamoClients(endpoint);
  const tableName = `online-${randomUUID().slice(0, 8)}`;
  await ensureOnlineTable(client, tableName);
  const table = new DynamoOnlineTable(doc, tableName);
  let n = 0;
  return {
    dir,
    store,
    engine,
    repo,
    table,
    doc,
    async ingest(source, rows) {
      const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
      const file = join(dir, `${source}-${n++}.csv`);
      await writeFile(
        file,
        [names.join(','), ...rows.map((r) => names.map((c) => cell(r[c])).join(','))].join('\n'),
      );
      const r = await ingestBatch({ repo, engine, store, bucket: BUCKET }, { source, file });
      if (r.status === 'quarantined')
        throw new Error(`batch quarantined: ${JSON.stringify(r.report.checks)}`);
    },
    async close() {
      engine.close();
      client.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Epoch microseconds of an ISO time. */
export const us = (iso: string): number => Date.parse(iso) * 1000;
