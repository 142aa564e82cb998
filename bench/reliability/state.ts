import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';

/** Files of the local event bus (local/alarms.ts, local/event-rules.ts). */
const ALARM_NOTICES = join('events', 'notifications.jsonl');
const EVENT_LOG = join('events', 'events.jsonl');
const ALARM_EVENT = 'CloudWatch Alarm State Change';
/** The prediction log (lambdas/serving/domain/prediction-log.ts), CloudWatch Logs' stand-in. */
const PREDICTION_LOG = join('logs', 'predictions.jsonl');

/** Whether a prediction-log line records a rejected request (`status` 4xx). */
function isRejectionRecord(line: string): boolean {
  try {
    const status = (JSON.parse(line) as { status?: unknown }).status;
    return typeof status === 'number' && status >= 400 && status < 500;
  } catch {
    return false;
  }
}

/** An object of the shipped prediction log (`<bucket>/predictions/model=<m>/date=<d>/<batch>.json.gz`). */
const SHIPPED_LOG = /\/predictions\/model=[^/]*\/date=[^/]*\/[^/]+\.json\.gz$/;

/** Whether a shipped prediction-log object holds only records of rejected requests. */
async function onlyRejections(path: string): Promise<boolean> {
  try {
    const lines = gunzipSync(await readFile(path))
      .toString('utf8')
      .split('\n')
      .filter(Boolean);
    return lines.length > 0 && lines.every(isRejectionRecord);
  } catch {
    return false;
  }
}

/**
 * State the platform keeps outside its tables and files (the local Lambda API's aliases
 * and published versions), as fingerprints by key.
 */
export interface ServiceState {
  capture(): Promise<Map<string, string>>;
  /** Puts back what can be put back (an alias can move back; a published version stays, as on Lambda). */
  restore(to: ReadonlyMap<string, string>): Promise<void>;
}

/** What the platform has stored: every item of every table, every file under a root. */
export interface StateSnapshot {
  /** table -> item key (JSON) -> item (JSON). */
  readonly tables: Map<string, Map<string, string>>;
  /** path relative to the root -> size, mtime and inode (a rewrite changes one). */
  readonly files: Map<string, string>;
  /** File contents, when captured for a later restore. */
  readonly contents?: Map<string, Buffer>;
  /** key -> fingerprint of state outside tables and files (aliases); empty without a ServiceState. */
  readonly services: Map<string, string>;
}

export interface TableKeys {
  readonly name: string;
  readonly keys: readonly string[];
}

/**
 * Reads the whole state of a local platform so that a test can tell whether a request
 * wrote anything: a scan of each DynamoDB table and a walk of the filesystem under a
 * root (the object store and anything beside it). Small by design: the reliability
 * runs keep the state near its seed by restoring it between routes.
 *
 * @example
 * const before = await probe.capture();
 * await send(...);
 * const changes = diffState(before, await probe.capture()); // [] when nothing was written
 */
export class StateProbe {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tables: readonly TableKeys[],
    readonly root: string,
    private readonly services?: ServiceState,
  ) {}

  async capture(withContents = false): Promise<StateSnapshot> {
    const [tables, files, services] = await Promise.all([
      this.scanTables(),
      this.walkFiles(withContents),
      this.services?.capture() ?? new Map<string, string>(),
    ]);
    return { tables, files: files.meta, contents: withContents ? files.contents : undefined, services };
  }

  private async scanTables(): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    await Promise.all(
      this.tables.map(async (t) => {
        const items = new Map<string, string>();
        let start: Record<string, AttributeValue> | undefined;
        do {
          const page = await this.client.send(
            new ScanCommand({ TableName: t.name, ExclusiveStartKey: start }),
          );
          for (const item of page.Items ?? []) {
            items.set(JSON.stringify(t.keys.map((k) => item[k])), JSON.stringify(sortKeys(item)));
          }
          start = page.LastEvaluatedKey;
        } while (start);
        out.set(t.name, items);
      }),
    );
    return out;
  }

  private async walkFiles(withContents: boolean) {
    const meta = new Map<string, string>();
    const contents = new Map<string, Buffer>();
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      await Promise.all(
        entries.map(async (e) => {
          const full = join(dir, e.name);
          if (e.isDirectory()) return walk(full);
          const rel = relative(this.root, full);
          // Alarm notices are the platform watching its own metrics on a timer, not state a
          // request wrote: leave them out, and fingerprint the event log without them.
          if (rel.endsWith(ALARM_NOTICES)) return;
          try {
            const s = await stat(full);
            if (rel.endsWith(EVENT_LOG)) {
              const lines = (await readFile(full, 'utf8')).split('\n');
              meta.set(rel, lines.filter((l) => !l.includes(ALARM_EVENT)).join('\n'));
            } else if (SHIPPED_LOG.test(rel) && (await onlyRejections(full))) {
              // The shipper's copy of rejection records: no more state than the records.
              return;
            } else if (rel.endsWith(PREDICTION_LOG)) {
              // A rejected prediction is logged by design (its `PredictRejected` metric): the
              // record of a rejection is not state it wrote, a scored prediction would be.
              const lines = (await readFile(full, 'utf8')).split('\n');
              const kept = lines.filter((l) => l && !isRejectionRecord(l)).join('\n');
              meta.set(rel, createHash('sha256').update(kept).digest('hex'));
            } else meta.set(rel, `${s.size}:${s.mtimeMs}:${s.ino}`);
            if (withContents) contents.set(rel, await readFile(full));
          } catch {
            // Removed between readdir and stat: it is not there.
          }
        }),
      );
    };
    await walk(this.root);
    return { meta, contents };
  }

  /**
   * Puts the state back to a snapshot taken with contents: items and files added since
   * are removed, changed or removed ones are written back.
   */
  async restore(to: StateSnapshot): Promise<void> {
    if (!to.contents) throw new Error('restore needs a snapshot captured with contents');
    const now = await this.capture();
    for (const t of this.tables) {
      const want = to.tables.get(t.name) ?? new Map<string, string>();
      const have = now.tables.get(t.name) ?? new Map<string, string>();
      const writes: WriteRequest[] = [];
      for (const [key, item] of have) {
        if (!want.has(key)) {
          const values = JSON.parse(key) as AttributeValue[];
          const itemKey: Record<string, AttributeValue> = {};
          t.keys.forEach((k, i) => {
            itemKey[k] = values[i] as AttributeValue;
          });
          writes.push({ DeleteRequest: { Key: itemKey } });
        } else if (want.get(key) !== item)
          writes.push({ PutRequest: { Item: JSON.parse(want.get(key) as string) } });
      }
      for (const [key, item] of want)
        if (!have.has(key)) writes.push({ PutRequest: { Item: JSON.parse(item) } });
      for (let i = 0; i < writes.length; i += 25) {
        let batch: Record<string, WriteRequest[]> = { [t.name]: writes.slice(i, i + 25) };
        while (Object.keys(batch).length) {
          const res = await this.client.send(new BatchWriteItemCommand({ RequestItems: batch }));
          batch = res.UnprocessedItems ?? {};
        }
      }
    }
    for (const [path, m] of now.files) {
      if (!to.files.has(path)) await rm(join(this.root, path), { force: true });
      else if (to.files.get(path) !== m)
        await writeFile(join(this.root, path), to.contents.get(path) as Buffer);
    }
    for (const [path, content] of to.contents) {
      if (!now.files.has(path)) {
        await mkdir(dirname(join(this.root, path)), { recursive: true });
        await writeFile(join(this.root, path), content);
      }
    }
    await this.services?.restore(to.services);
  }
}

function sortKeys(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(item)
      .sort()
      .map((k) => [k, item[k]]),
  );
}

/** What changed between two snapshots, one line per item or file; [] when nothing did. */
export function diffState(a: StateSnapshot, b: StateSnapshot, max = 8): string[] {
  const out: string[] = [];
  for (const [table, items] of b.tables) {
    const before = a.tables.get(table) ?? new Map<string, string>();
    for (const [key, item] of items) {
      if (!before.has(key)) out.push(`${table}: added ${key}`);
      else if (before.get(key) !== item) out.push(`${table}: changed ${key}`);
    }
    for (const key of before.keys()) if (!items.has(key)) out.push(`${table}: removed ${key}`);
  }
  for (const [path, m] of b.files) {
    if (!a.files.has(path)) out.push(`file added: ${path}`);
    else if (a.files.get(path) !== m) out.push(`file changed: ${path}`);
  }
  for (const path of a.files.keys()) if (!b.files.has(path)) out.push(`file removed: ${path}`);
  for (const [key, m] of b.services) {
    if (!a.services.has(key)) out.push(`${key}: added ${m}`);
    else if (a.services.get(key) !== m) out.push(`${key}: changed ${a.services.get(key)} -> ${m}`);
  }
  for (const key of a.services.keys()) if (!b.services.has(key)) out.push(`${key}: removed`);
  return out.length > max ? [...out.slice(0, max), `... ${out.length - max} more`] : out;
}

/** A short digest of a snapshot (for reports). */
export function stateDigest(s: StateSnapshot): string {
  const h = createHash('sha256');
  for (const [t, items] of [...s.tables].sort())
    for (const [k, v] of [...items].sort()) h.update(`${t}${k}${v}`);
  for (const [p, m] of [...s.files].sort()) h.update(`${p}${m}`);
  for (const [k, m] of [...s.services].sort()) h.update(`${k}${m}`);
  return h.digest('hex').slice(0, 16);
}
