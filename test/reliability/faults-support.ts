import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { localDynamoClients } from '../../local/engines/dynamodb';

/** Thrown in place of a write a crashed process never made. */
export class SimulatedCrash extends Error {
  constructor() {
    super('simulated crash');
    this.name = 'SimulatedCrash';
  }
}

const WRITES = [PutCommand, UpdateCommand, DeleteCommand, BatchWriteCommand];

/**
 * The same client, except that after `writes` writes every further write throws
 * SimulatedCrash without reaching the table: what a process killed at that point leaves.
 * Reads still go through, as they would have before the kill.
 *
 * @example
 * const store = createDynamoTrackingStore(crashAfterWrites(doc, 2), table);
 */
export function crashAfterWrites(db: DynamoDBDocumentClient, writes: number): DynamoDBDocumentClient {
  let left = writes;
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: object) => {
        if (WRITES.some((W) => command instanceof W) && left-- <= 0) throw new SimulatedCrash();
        return target.send(command as Parameters<DynamoDBDocumentClient['send']>[0]);
      };
    },
  });
}

/** A fresh table shaped like the tracking table (pk/sk and the gsi1 index). */
export async function createTrackingTable(endpoint: string, name: string): Promise<DynamoDBDocumentClient> {
  const { client, doc } = localDynamoClients(endpoint);
  const s = { AttributeType: 'S' as const };
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', ...s },
        { AttributeName: 'sk', ...s },
        { AttributeName: 'gsi1pk', ...s },
        { AttributeName: 'gsi1sk', ...s },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  // dynalite activates a table on its next tick; the SDK waiter would sleep a second.
  for (let i = 0; i < 100; i++) {
    const t = await client.send(new DescribeTableCommand({ TableName: name }));
    if (t.Table?.TableStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 5));
  }
  return doc;
}

const CHILD = fileURLToPath(new URL('./faults-child.ts', import.meta.url));

/** A fault-suite child process (faults-child.ts) and what it prints, line by line. */
export interface Child {
  readonly process: ChildProcess;
  /** Resolves when the child exits (by itself or killed), with its exit code. */
  readonly exited: Promise<number | null>;
  /** Resolves with the `nth` line (printed so far or later) that matches; rejects if the child exits first. */
  waitFor(pattern: RegExp, nth?: number): Promise<RegExpExecArray>;
  /** SIGKILL, then the exit. */
  kill(): Promise<void>;
}

/**
 * Starts faults-child.ts with `args` (a mode and its arguments).
 *
 * @example
 * const child = startChild(['runtime', dataDir, templateFile()]);
 * const url = (await child.waitFor(/^READY (\S+)/))[1];
 */
export function startChild(args: readonly string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let err = '';
  let buffered = '';
  proc.stdout?.on('data', (d) => {
    buffered += String(d);
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters) w();
  });
  proc.stderr?.on('data', (d) => {
    err = (err + String(d)).slice(-4000);
  });
  let code: number | null | undefined;
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (c) => {
      code = c;
      for (const w of waiters) w();
      r(c);
    }),
  );
  return {
    process: proc,
    exited,
    waitFor: (pattern, nth = 1) =>
      new Promise((resolve, reject) => {
        let seen = 0;
        let matched = 0;
        const check = () => {
          for (; seen < lines.length; seen++) {
            const m = pattern.exec(lines[seen] as string);
            if (m && ++matched === nth) {
              waiters.delete(check);
              return resolve(m);
            }
          }
          if (code !== undefined) {
            waiters.delete(check);
            reject(new Error(`fault child ${args[0]} exited (${code}) before printing ${pattern}: ${err}`));
          }
        };
        waiters.add(check);
        check();
      }),
    kill: async () => {
      if (code === undefined) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Writes the synthesized platform template into `dir` once; every child of a suite reads
 * that one file (synthesis takes seconds; the children never synthesize).
 */
export async function writeTemplate(dir: string): Promise<string> {
  // Imported here: the children import this module too.
  const { synthTemplate } = await import('../../local/synth');
  const file = join(dir, 'template.json');
  writeFileSync(file, JSON.stringify(synthTemplate({ stage: 'local' })));
  return file;
}

/** A small seeded generator, so a failing cycle's kill time can be replayed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
