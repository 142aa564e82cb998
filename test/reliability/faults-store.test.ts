import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../lambdas/platform/errors';
import { ExperimentService } from '../../lambdas/tracking/domain/experiments';
import { metricOrderKey } from '../../lambdas/tracking/domain/order-key';
import { REGISTRATION_TIMEOUT_MS, RegistryService } from '../../lambdas/tracking/domain/registry';
import { RunService } from '../../lambdas/tracking/domain/runs';
import { PENDING_GRACE_MS, settleRunItem } from '../../lambdas/tracking/store/dynamo-latest-repair';
import { DynamoRegistryStore } from '../../lambdas/tracking/store/dynamo-registry-store';
import { createDynamoTrackingStore } from '../../lambdas/tracking/store/dynamo-tracking-store';
import {
  lastDynaliteLevel,
  localDynamoClients,
  type RunningEngine,
  startDynamoDb,
} from '../../local/engines/dynamodb';
import { crashAfterWrites, createTrackingTable, SimulatedCrash } from './faults-support';

// Every crash point of each two-write protocol, simulated at the store: after N writes the
// process "dies" (further writes never reach the table), then a healthy process reads.

let engine: RunningEngine;
let dir: string;
let tableNo = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mlops-crash-'));
  engine = await startDynamoDb();
});
afterAll(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function freshTable() {
  const table = `crash-${++tableNo}`;
  const doc = await createTrackingTable(engine.endpoint, table);
  const healthy = createDynamoTrackingStore(doc, table);
  const experiments = new ExperimentService(healthy);
  return {
    doc,
    table,
    healthy,
    experiments,
    runs: new RunService(healthy, experiments),
    crashing: (writes: number) => {
      const store = createDynamoTrackingStore(crashAfterWrites(doc, writes), table);
      const exps = new ExperimentService(store);
      return { store, experiments: exps, runs: new RunService(store, exps) };
    },
  };
}

/** Runs `op` until it completes, crashing it after 0, 1, 2, ... writes; each crash point on its own table. */
async function everyCrashPoint(
  op: (
    t: Awaited<ReturnType<typeof freshTable>>,
    crashing: ReturnType<Awaited<ReturnType<typeof freshTable>>['crashing']>,
  ) => Promise<void>,
  check: (t: Awaited<ReturnType<typeof freshTable>>, crashedAt: number | undefined) => Promise<void>,
  setup: (t: Awaited<ReturnType<typeof freshTable>>) => Promise<void> = async () => undefined,
): Promise<number> {
  for (let writes = 0; writes < 50; writes++) {
    const t = await freshTable();
    await setup(t);
    let crashed = false;
    try {
      await op(t, t.crashing(writes));
    } catch (err) {
      if (!(err instanceof SimulatedCrash)) throw err;
      crashed = true;
    }
    await check(t, crashed ? writes : undefined);
    if (!crashed) return writes;
  }
  throw new Error('the protocol never completed');
}

describe('experiment names survive a crash at any write', () => {
  it('after a crashed create the name resolves to the experiment or is free, and a rerun completes', async () => {
    const points = await everyCrashPoint(
      async (_t, c) => {
        await c.experiments.create({ name: 'churn' });
      },
      async (t) => {
        const byName = await t.experiments.getByName('churn').catch(() => undefined);
        const listed = (await t.experiments.search({ view_type: 'ALL' })).experiments.filter(
          (e) => e.name === 'churn',
        );
        if (byName) {
          expect((await t.experiments.get(byName.experiment_id)).name).toBe('churn');
          expect(listed.map((e) => e.experiment_id)).toEqual([byName.experiment_id]);
          await expect(t.experiments.create({ name: 'churn' })).rejects.toMatchObject({
            name: 'AlreadyExistsError',
          });
        } else {
          // Not committed: no ghost in the listing, and the name is not wedged.
          expect(listed).toEqual([]);
          const id = await t.experiments.create({ name: 'churn' });
          expect((await t.experiments.getByName('churn')).experiment_id).toBe(id);
        }
      },
    );
    expect(points).toBeGreaterThanOrEqual(3);
  });

  it('a claim left by an older process without its experiment is released', async () => {
    const t = await freshTable();
    await t.experiments.ensureDefault();
    // What the previous protocol left when killed between the claim and the experiment.
    await t.doc.send(
      new PutCommand({ TableName: t.table, Item: { pk: 'EXPNAME#old', sk: 'NAME', experiment_id: '77' } }),
    );
    await expect(t.experiments.getByName('old')).rejects.toMatchObject({ name: 'NotFoundError' });
    const id = await t.experiments.create({ name: 'old' });
    expect((await t.experiments.getByName('old')).experiment_id).toBe(id);
  });

  it('after a crashed rename exactly one of the two names holds the experiment, and the other is free', async () => {
    let id = '';
    await everyCrashPoint(
      async (_t, c) => {
        await c.experiments.rename(id, 'after');
      },
      async (t) => {
        const exp = await t.experiments.get(id);
        expect(['before', 'after']).toContain(exp.name);
        expect((await t.experiments.getByName(exp.name)).experiment_id).toBe(id);
        const other = exp.name === 'before' ? 'after' : 'before';
        await expect(t.experiments.getByName(other)).rejects.toMatchObject({ name: 'NotFoundError' });
        const listed = (await t.experiments.search({})).experiments.filter((e) => e.experiment_id === id);
        expect(listed.map((e) => e.name)).toEqual([exp.name]);
        expect(await t.experiments.create({ name: other })).not.toBe(id);
      },
      async (t) => {
        id = await t.experiments.create({ name: 'before' });
      },
    );
  });
});

describe("a run's latest metric never lags its history after a crash", () => {
  it('at every crash point of a log batch, each latest value is the greatest point of its history', async () => {
    let runId = '';
    const metrics = Array.from({ length: 50 }, (_, i) => ({
      key: `m${i % 41}`,
      value: i * 1.5,
      timestamp: 1000 + i,
      step: i,
    }));
    const points = await everyCrashPoint(
      async (_t, c) => {
        await c.runs.logBatch(runId, { metrics });
      },
      async (t) => {
        const run = await t.runs.get(runId);
        for (let k = 0; k < 41; k++) {
          const key = `m${k}`;
          const { metrics: hist } = await t.healthy.metricHistory(runId, key, { limit: 100 });
          const top = hist.at(-1);
          if (!top) expect(run.metrics[key]).toBeUndefined();
          else expect(metricOrderKey(run.metrics[key] as typeof top)).toBe(metricOrderKey(top));
        }
        // A rerun of the same batch completes and changes nothing more.
        await t.runs.logBatch(runId, { metrics });
        expect((await t.runs.get(runId)).metrics.m0?.value).toBe(41 * 1.5);
      },
      async (t) => {
        runId = (await t.runs.create({ experiment_id: '0' }, 'tester')).info.run_id;
        await t.runs.logBatch(runId, { metrics: [{ key: 'm0', value: -1, timestamp: 1, step: 0 }] });
      },
    );
    expect(points).toBeGreaterThanOrEqual(3);
  });

  it('a mark the history never reached is dropped once no writer can still be active', async () => {
    const t = await freshTable();
    const run = await t.runs.create({ experiment_id: '0' }, 'tester');
    // The run's first mark: a SET into the missing map (refused), then the map; no history.
    const c = t.crashing(2);
    await expect(
      c.runs.logBatch(run.info.run_id, { metrics: [{ key: 'auc', value: 0.9, timestamp: 5, step: 1 }] }),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    const key = { pk: `RUN#${run.info.run_id}`, sk: 'RUN' };
    const item = (await t.doc.send(new GetCommand({ TableName: t.table, Key: key }))).Item ?? {};
    expect(Object.keys(item.pend)).toEqual(['auc']);
    // Within the grace period a writer may still be running: the mark stays.
    await settleRunItem(t.doc, t.table, item, Number(item.pend_at) + 1);
    expect((await t.doc.send(new GetCommand({ TableName: t.table, Key: key }))).Item?.pend).toHaveProperty(
      'auc',
    );
    const settled = await settleRunItem(t.doc, t.table, item, Number(item.pend_at) + PENDING_GRACE_MS + 1);
    expect(settled.pend).toEqual({});
    expect((await t.doc.send(new GetCommand({ TableName: t.table, Key: key }))).Item?.pend).toEqual({});
    expect((await t.runs.get(run.info.run_id)).metrics.auc).toBeUndefined();
  });
});

describe('dynalite index entries never outlive or run ahead of their item', () => {
  it('a process killed between the index write and the item write leaves no ghost', async () => {
    const t = await freshTable();
    const level = lastDynaliteLevel();
    const put = level.put;
    // The kill point: dynalite is about to write the item itself; it is held there while we read.
    let resume: () => void = () => undefined;
    const reached = new Promise<void>((r) => {
      level.put = (key, value, cb) => {
        if (!key.startsWith(`item-${t.table}~`)) return put.call(level, key, value, cb);
        resume = () => put.call(level, key, value, cb);
        r();
      };
    });
    const write = t.doc.send(
      new PutCommand({
        TableName: t.table,
        Item: { pk: 'EXP#9', sk: 'EXP', gsi1pk: 'EXPS', gsi1sk: '9', name: 'x' },
      }),
    );
    await reached;
    level.put = put;
    const listed = await t.doc.send(
      new QueryCommand({
        TableName: t.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': 'EXPS' },
      }),
    );
    const got = await t.doc.send(new GetCommand({ TableName: t.table, Key: { pk: 'EXP#9', sk: 'EXP' } }));
    // Index and item were one LevelDB batch: a kill here leaves both.
    expect((listed.Items ?? []).map((i) => i.name)).toEqual(['x']);
    expect(got.Item?.name).toBe('x');
    resume();
    await write;
  });

  it('a restart drops index entries whose item is missing and rewrites stale ones', async () => {
    const path = join(dir, 'repair');
    let e = await startDynamoDb({ path });
    const doc = await createTrackingTable(e.endpoint, 'repair');
    const item = (id: string, name: string) => ({
      pk: `EXP#${id}`,
      sk: 'EXP',
      gsi1pk: 'EXPS',
      gsi1sk: id,
      name,
    });
    await doc.send(new PutCommand({ TableName: 'repair', Item: item('1', 'kept') }));
    await doc.send(new PutCommand({ TableName: 'repair', Item: item('2', 'ghost') }));
    await doc.send(new PutCommand({ TableName: 'repair', Item: item('3', 'old') }));
    // What a kill left under the old write order: an index entry with no item, one ahead of its item.
    const level = lastDynaliteLevel();
    const entries: [string, unknown][] = [];
    for await (const kv of level.iterator({ gte: 'index-global~repair~', lt: 'index-global~repair~\uffff' }))
      entries.push(kv);
    let ghostItemKey = '';
    for await (const [k, v] of level.iterator({ gte: 'item-repair~', lt: 'item-repair~\uffff' }))
      if (JSON.stringify(v).includes('EXP#2')) ghostItemKey = k;
    const [staleKey, staleValue] = entries.find(([, v]) => JSON.stringify(v).includes('"old"')) as [
      string,
      Record<string, unknown>,
    ];
    await level.batch([
      { type: 'del', key: ghostItemKey },
      { type: 'put', key: staleKey, value: { ...staleValue, name: { S: 'new' } } },
    ]);
    await e.close();
    e = await startDynamoDb({ path });
    try {
      expect(e.repairedIndexEntries).toBe(2);
      const { doc: doc2 } = localDynamoClients(e.endpoint);
      const listed = await doc2.send(
        new QueryCommand({
          TableName: 'repair',
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :p',
          ExpressionAttributeValues: { ':p': 'EXPS' },
        }),
      );
      expect((listed.Items ?? []).map((i) => i.name)).toEqual(['kept', 'old']);
    } finally {
      await e.close();
    }
  });
});

// The registry's source check, as the tracking function wires it, stands in for loading the
// ONNX file: sources naming "broken" fail it; `hang` holds a check open like a slow load.
const checked: string[] = [];
async function checkSource(source: string): Promise<void> {
  checked.push(source);
  if (source.includes('broken')) throw new InvalidParameterError('not an ONNX model');
}

async function freshRegistry() {
  const table = `crash-${++tableNo}`;
  const doc = await createTrackingTable(engine.endpoint, table);
  const clock = { t: 1_700_000_000_000 };
  const now = () => clock.t;
  const events = { publish: async () => undefined };
  const service = (d = doc, check = checkSource) =>
    new RegistryService(new DynamoRegistryStore(d, table), events, check, now);
  return {
    doc,
    table,
    clock,
    healthy: service(),
    crashing: (writes: number, check = checkSource) => service(crashAfterWrites(doc, writes), check),
  };
}

describe('a registered model rename survives a crash at any write', () => {
  it('exactly one name holds the model with all its versions, stages, aliases and history; the other is free', async () => {
    let crashPoints = 0;
    for (let writes = 0; writes < 60; writes++) {
      const t = await freshRegistry();
      await t.healthy.createModel({ name: 'before', tags: [{ key: 'team', value: 'growth' }] }, 'u');
      for (const source of ['s3://a/1', 's3://a/2', 's3://a/3'])
        await t.healthy.createVersion({ name: 'before', source }, 'u');
      await t.healthy.transition({ name: 'before', version: '2', stage: 'Production' }, 'u');
      await t.healthy.transition({ name: 'before', version: '3', stage: 'Staging' }, 'u');
      await t.healthy.setAlias('before', 'champion', '2', 'u');
      const changes = (await t.healthy.changes('before')).length;
      let crashed = false;
      try {
        await t.crashing(writes).renameModel('before', 'after');
      } catch (err) {
        if (!(err instanceof SimulatedCrash)) throw err;
        crashed = true;
      }
      // The listing first (it finishes what it finds), then each name.
      const listed = (await t.healthy.listModels()).map((m) => m.name);
      expect(listed.length, `crash after ${writes} writes`).toBe(1);
      const holder = listed[0] as string;
      const other = holder === 'before' ? 'after' : 'before';
      if (!crashed) expect(holder).toBe('after');
      const { model } = await t.healthy.getModel(holder);
      expect(model.tags).toEqual({ team: 'growth' });
      expect(model.aliases).toEqual({ champion: '2' });
      const versions = await t.healthy.listVersions(holder);
      expect(versions.map((v) => [v.name, v.version, v.current_stage])).toEqual([
        [holder, '1', 'None'],
        [holder, '2', 'Production'],
        [holder, '3', 'Staging'],
      ]);
      expect((await t.healthy.changes(holder)).length).toBe(changes);
      await expect(t.healthy.getModel(other)).rejects.toMatchObject({ name: 'NotFoundError' });
      expect(await t.healthy.listVersions(other)).toEqual([]);
      // Nothing wedged: the version counter continues, a rerun of the rename completes,
      // and the free name can be created.
      expect((await t.healthy.createVersion({ name: holder, source: 's3://a/4' }, 'u')).version).toBe('4');
      if (holder === 'before') await t.healthy.renameModel('before', 'after');
      await t.healthy.createModel({ name: 'before' }, 'u');
      expect((await t.healthy.listModels()).map((m) => m.name).sort()).toEqual(['after', 'before']);
      expect((await t.healthy.listVersions('after')).map((v) => v.version)).toEqual(['1', '2', '3', '4']);
      expect(await t.healthy.listVersions('before')).toEqual([]);
      if (!crashed) break;
      crashPoints++;
    }
    expect(crashPoints).toBeGreaterThanOrEqual(5);
  });

  it('a rename to a taken name changes nothing and leaves no mark behind', async () => {
    const t = await freshRegistry();
    await t.healthy.createModel({ name: 'a' }, 'u');
    await t.healthy.createModel({ name: 'b' }, 'u');
    await t.healthy.createVersion({ name: 'a', source: 's3://a/1' }, 'u');
    await expect(t.healthy.renameModel('a', 'b')).rejects.toMatchObject({ name: 'AlreadyExistsError' });
    expect((await t.healthy.listVersions('a')).map((v) => v.version)).toEqual(['1']);
    expect(await t.healthy.listVersions('b')).toEqual([]);
    const head = await t.doc.send(new GetCommand({ TableName: t.table, Key: { pk: 'RM#a', sk: 'RM' } }));
    expect(head.Item?.renaming).toBeUndefined();
  });

  it('a copy left by the old protocol does not pull in a later model of the old name', async () => {
    const t = await freshRegistry();
    await t.healthy.createModel({ name: 'a' }, 'u');
    await t.healthy.createVersion({ name: 'a', source: 's3://a/1' }, 'u');
    await t.healthy.renameModel('a', 'b');
    // The old protocol kept renamed_from on the copy for ever.
    await t.doc.send(
      new UpdateCommand({
        TableName: t.table,
        Key: { pk: 'RM#b', sk: 'RM' },
        UpdateExpression: 'SET renamed_from = :a',
        ExpressionAttributeValues: { ':a': 'a' },
      }),
    );
    await t.healthy.createModel({ name: 'a' }, 'u');
    await t.healthy.createVersion({ name: 'a', source: 's3://a/new' }, 'u');
    expect((await t.healthy.listModels()).map((m) => m.name).sort()).toEqual(['a', 'b']);
    expect((await t.healthy.listVersions('b')).map((v) => v.source)).toEqual(['s3://a/1']);
    expect((await t.healthy.listVersions('a')).map((v) => v.source)).toEqual(['s3://a/new']);
  });
});

describe('a model version left PENDING_REGISTRATION by a crash is settled by the next reader', () => {
  it('at every crash point of a registration, readers see a settled version once the check has timed out', async () => {
    for (const source of ['s3://a/model', 's3://a/broken']) {
      let crashPoints = 0;
      for (let writes = 0; writes < 10; writes++) {
        const t = await freshRegistry();
        await t.healthy.createModel({ name: 'm' }, 'u');
        let crashed = false;
        try {
          await t.crashing(writes).createVersion({ name: 'm', source }, 'u');
        } catch (err) {
          if (!(err instanceof SimulatedCrash)) throw err;
          crashed = true;
        }
        const [v] = await t.healthy.listVersions('m');
        if (v && v.status === 'PENDING_REGISTRATION') {
          // Within the timeout the check may still be running elsewhere: left alone.
          t.clock.t += REGISTRATION_TIMEOUT_MS;
          expect((await t.healthy.getVersion('m', v.version)).status).toBe('PENDING_REGISTRATION');
          t.clock.t += 1;
        }
        const versions = await t.healthy.listVersions('m');
        // A crash before the version was written leaves no version (its number is skipped).
        expect(versions.length).toBe(crashed && writes < 2 ? 0 : 1);
        for (const got of versions) {
          expect(got.status).toBe(source.includes('broken') ? 'FAILED_REGISTRATION' : 'READY');
          if (got.status === 'FAILED_REGISTRATION') expect(got.status_message).toMatch(/not an ONNX model/);
          expect((await t.healthy.getVersion('m', got.version)).status).toBe(got.status);
        }
        // The next registration gets a fresh number and completes.
        const next = await t.healthy.createVersion({ name: 'm', source: 's3://a/next' }, 'u');
        expect(next.status).toBe('READY');
        expect(Number(next.version)).toBeGreaterThan(Number(versions[0]?.version ?? 0));
        if (!crashed) break;
        crashPoints++;
      }
      expect(crashPoints).toBe(3);
    }
  });

  it('a retried check that is interrupted too fails the version with the reason, once', async () => {
    const t = await freshRegistry();
    await t.healthy.createModel({ name: 'm' }, 'u');
    // The create's process dies after writing the pending version.
    await expect(
      t.crashing(2).createVersion({ name: 'm', source: 's3://a/heavy' }, 'u'),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    t.clock.t += REGISTRATION_TIMEOUT_MS + 1;
    // The reader that takes the check over dies while loading the model.
    const dying = t.crashing(1, async () => {
      throw new SimulatedCrash();
    });
    await expect(dying.getVersion('m', '1')).rejects.toBeInstanceOf(SimulatedCrash);
    const retrying = await t.healthy.getVersion('m', '1');
    expect(retrying).toMatchObject({
      status: 'PENDING_REGISTRATION',
      status_message: expect.stringMatching(/checking again/),
    });
    t.clock.t += REGISTRATION_TIMEOUT_MS + 1;
    const before = checked.length;
    const failed = await t.healthy.getVersion('m', '1');
    expect(failed.status).toBe('FAILED_REGISTRATION');
    expect(failed.status_message).toMatch(/interrupted twice/);
    expect(checked.length).toBe(before);
    await expect(
      t.healthy.transition({ name: 'm', version: '1', stage: 'Production' }, 'u'),
    ).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
  });

  it('a check that outlives its time does not overwrite the reader that took it over', async () => {
    const t = await freshRegistry();
    await t.healthy.createModel({ name: 'm' }, 'u');
    let release: () => void = () => undefined;
    const started = new Promise<void>((r) => {
      release = r;
    });
    let finish: () => void = () => undefined;
    // A slow first check, whose model then fails; the takeover's check passes.
    const slow = t.crashing(100, async () => {
      release();
      await new Promise<void>((r) => {
        finish = r;
      });
      throw new InvalidParameterError('not an ONNX model');
    });
    const creating = slow.createVersion({ name: 'm', source: 's3://a/model' }, 'u');
    await started;
    t.clock.t += REGISTRATION_TIMEOUT_MS + 1;
    expect((await t.healthy.getVersion('m', '1')).status).toBe('READY');
    finish();
    expect((await creating).status).toBe('READY');
    expect((await t.healthy.getVersion('m', '1')).status).toBe('READY');
  });
});
