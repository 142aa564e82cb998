import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';

export interface RunningEngine {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** dynalite's storage layer (CommonJS, untyped): the parts the crash-safety patch uses. */
interface DynaliteDbModule {
  create(options: unknown): DynaliteStore;
  updateIndexes(store: DynaliteStore, table: Table, existing: Item | null, item: Item | null, cb: Cb): void;
  getIndexActions(
    indexes: unknown[],
    existing: Item | null,
    item: Item | null,
    table: Table,
  ): { puts: { index: string; key: string; item: Item }[]; deletes: { index: string; key: string }[] };
  createKey(item: Item, table: Table): string;
  __mlopsAtomic?: boolean;
}
type Item = Record<string, unknown>;
type Cb = (err?: Error | null) => void;
interface Table {
  TableName: string;
  LocalSecondaryIndexes?: unknown[];
  GlobalSecondaryIndexes?: unknown[];
}
interface LevelLike {
  batch(ops: { type: 'put' | 'del'; key: string; value?: unknown }[], cb: Cb): void;
  batch(ops: { type: 'put' | 'del'; key: string; value?: unknown }[]): Promise<void>;
  get(key: string): Promise<unknown>;
  iterator(range: { gte: string; lt: string }): AsyncIterable<[string, unknown]>;
}
interface DynaliteStore {
  db: LevelLike;
}

const INDEX_TYPES = ['Local', 'Global'] as const;

/** The index writes of one item change, as LevelDB operations on dynalite's key layout. */
function indexOps(dyn: DynaliteDbModule, table: Table, existing: Item | null, item: Item | null) {
  const ops: { type: 'put' | 'del'; key: string; value?: unknown }[] = [];
  for (const type of INDEX_TYPES) {
    const prefix = `index-${type.toLowerCase()}~${table.TableName}~`;
    const actions = dyn.getIndexActions(table[`${type}SecondaryIndexes`] ?? [], existing, item, table);
    for (const d of actions.deletes) ops.push({ type: 'del', key: `${prefix}${d.index}~${d.key}` });
    for (const p of actions.puts)
      ops.push({ type: 'put', key: `${prefix}${p.index}~${p.key}`, value: p.item });
  }
  return ops;
}

let captured: DynaliteStore | undefined;

/** The LevelDB under the most recently started engine: crash tests write to it directly. */
export function lastDynaliteLevel(): LevelLike & {
  put(key: string, value: unknown, cb: Cb): void;
} {
  if (!captured) throw new Error('no dynalite engine has been started in this process');
  return captured.db as LevelLike & { put(key: string, value: unknown, cb: Cb): void };
}

/**
 * dynalite writes an item's index entries and then the item, as separate LevelDB writes;
 * a process killed between them leaves index entries for an item that was never written
 * (ghosts in every listing) or newer than it. This makes both one atomic LevelDB batch
 * (dynalite then writes the item again, the same value), and captures the store so
 * `repairIndexes` can fix a data dir written before.
 */
function patchDynalite(): DynaliteDbModule {
  const dyn = createRequire(import.meta.url)('dynalite/db') as DynaliteDbModule;
  if (dyn.__mlopsAtomic) return dyn;
  dyn.__mlopsAtomic = true;
  const create = dyn.create;
  dyn.create = (options) => {
    captured = create(options);
    return captured;
  };
  dyn.updateIndexes = (store, table, existing, item, cb) => {
    const ops = indexOps(dyn, table, existing, item);
    if (ops.length === 0) return cb();
    const itemKey = `item-${table.TableName}~${dyn.createKey((item ?? existing) as Item, table)}`;
    ops.push(item ? { type: 'put', key: itemKey, value: item } : { type: 'del', key: itemKey });
    store.db.batch(ops, cb);
  };
  return dyn;
}

/**
 * Drops index entries whose item is missing and rewrites those that differ from their
 * item: what a crash left in a data dir written before the atomic patch. Returns how many
 * entries it fixed.
 */
async function repairIndexes(dyn: DynaliteDbModule, store: DynaliteStore): Promise<number> {
  const tables = new Map<string, Table>();
  for await (const [key, value] of store.db.iterator({ gte: 'table~', lt: 'table~\uffff' })) {
    tables.set(key.slice('table~'.length), value as Table);
  }
  const ops: { type: 'put' | 'del'; key: string; value?: unknown }[] = [];
  for (const table of tables.values()) {
    for (const type of INDEX_TYPES) {
      const prefix = `index-${type.toLowerCase()}~${table.TableName}~`;
      if (!(table[`${type}SecondaryIndexes`] ?? []).length) continue;
      for await (const [key, entry] of store.db.iterator({ gte: prefix, lt: `${prefix}\uffff` })) {
        const item = (await store.db
          .get(`item-${table.TableName}~${dyn.createKey(entry as Item, table)}`)
          .catch(() => undefined)) as Item | undefined;
        const expected = item ? indexOps(dyn, table, null, item).find((o) => o.key === key) : undefined;
        if (!expected) ops.push({ type: 'del', key });
        else if (JSON.stringify(expected.value) !== JSON.stringify(entry)) ops.push(expected);
      }
    }
  }
  if (ops.length) await store.db.batch(ops);
  return ops.length;
}

/**
 * Starts dynalite (the DynamoDB API on LevelDB) in this process. With a path, data
 * persists across restarts; without one it lives in memory (tests). Item and index writes
 * are made atomic (see patchDynalite), and a data dir is checked for index entries a crash
 * left behind before the server answers.
 *
 * @example
 * const ddb = await startDynamoDb({ path: '.mlops/dynamodb' });
 * process.env.AWS_ENDPOINT_URL_DYNAMODB = ddb.endpoint;
 */
export async function startDynamoDb(
  options: { path?: string; port?: number } = {},
): Promise<RunningEngine & { repairedIndexEntries: number }> {
  if (options.path) mkdirSync(options.path, { recursive: true });
  const dyn = patchDynalite();
  // createTableMs etc. default to delays that mimic AWS; locally tables are ready at once.
  const server = dynalite({
    path: options.path,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const store = captured;
  const repairedIndexEntries = options.path && store ? await repairIndexes(dyn, store) : 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    repairedIndexEntries,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Drop keep-alive sockets so close() does not wait for idle clients.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/**
 * SDK clients for a local dynalite: any region, placeholder credentials (dynalite checks
 * none), and a document client that drops undefined attributes as the Lambdas' does.
 *
 * @example
 * const { client, doc } = localDynamoClients(ddb.endpoint);
 */
export function localDynamoClients(endpoint: string): {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
} {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { client, doc };
}
