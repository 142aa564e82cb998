import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import type { Experiment, LifecycleStage } from '../domain/model';
import { GSI1, keys } from './dynamo-keys';
import { queryAll } from './dynamo-util';
import type { ExperimentStore } from './tracking-store';

type Item = Record<string, unknown>;

/**
 * Experiments on the tracking table: ids from a counter item, and each name claimed by a
 * conditional put, so two experiments never share a name.
 *
 * Crash safety without transactions (docs/tracking.md, "Invariants without transactions"):
 * the experiment item is written first, marked `pending`; the name claim is the commit
 * point; clearing `pending` is bookkeeping that any reader finishes. A rename marks the
 * item `renaming: <new>` before claiming the new name, so a reader finds a half-done
 * rename and rolls it forward. A claim whose experiment is missing, or neither has nor is
 * moving to that name, is an orphan: it is released (conditionally on its token) and the
 * name is free again.
 */
export class DynamoExperimentStore implements ExperimentStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async allocateExperimentId(): Promise<string> {
    const res = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.counter('experiment'),
        UpdateExpression: 'ADD #n :one',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return String(res.Attributes?.n);
  }

  async createExperiment(exp: Experiment): Promise<'created' | 'name-taken'> {
    // 1. The item, invisible to readers while pending (a retry with the same id keeps the first).
    await this.db
      .send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.experiment(exp.experiment_id),
            ...keys.experimentIndex(exp.experiment_id),
            ...exp,
            pending: true,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
    // 2. The commit point.
    if (!(await this.claimName(exp.name, exp.experiment_id))) {
      await this.db
        .send(
          new DeleteCommand({
            TableName: this.table,
            Key: keys.experiment(exp.experiment_id),
            ConditionExpression: 'pending = :t',
            ExpressionAttributeValues: { ':t': true },
          }),
        )
        .catch((err) => {
          if (!isConditionFailed(err)) throw err;
        });
      return 'name-taken';
    }
    // 3. Bookkeeping a reader would otherwise finish.
    await this.finishCreate(exp.experiment_id);
    return 'created';
  }

  async getExperiment(id: string): Promise<Experiment | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: keys.experiment(id), ConsistentRead: true }),
    );
    const item = res.Item && (await this.settle(res.Item));
    return item ? toExperiment(item) : undefined;
  }

  async findExperimentIdByName(name: string): Promise<string | undefined> {
    const claim = await this.readClaim(name);
    if (!claim) return undefined;
    const id = claim.experiment_id as string;
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: keys.experiment(id), ConsistentRead: true }),
    );
    const item = res.Item && (await this.settle(res.Item));
    if (item?.name === name) return id;
    // Nothing committed this claim to an experiment: free the name.
    await this.releaseClaim(name, claim);
    return undefined;
  }

  async renameExperiment(exp: Experiment, newName: string, now: number): Promise<'ok' | 'name-taken'> {
    const id = exp.experiment_id;
    // 1. Intent on the item, so a crash after the claim is rolled forward by a reader.
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.experiment(id),
        UpdateExpression: 'SET #r = :n',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#r': 'renaming' },
        ExpressionAttributeValues: { ':n': newName },
      }),
    );
    // 2. The commit point.
    if (!(await this.claimName(newName, id))) {
      await this.db
        .send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.experiment(id),
            UpdateExpression: 'REMOVE #r',
            ConditionExpression: '#r = :n',
            ExpressionAttributeNames: { '#r': 'renaming' },
            ExpressionAttributeValues: { ':n': newName },
          }),
        )
        .catch((err) => {
          if (!isConditionFailed(err)) throw err;
        });
      return 'name-taken';
    }
    // 3 and 4: the new name on the item, then the old claim released.
    await this.finishRename(id, exp.name, newName, now);
    return 'ok';
  }

  /**
   * A stored experiment item as readers may see it: a committed create or rename that a
   * crash left half-done is finished here; an uncommitted create reads as absent.
   */
  private async settle(item: Item): Promise<Item | undefined> {
    const id = item.experiment_id as string;
    if (item.pending) {
      const claim = await this.readClaim(item.name as string);
      if (claim?.experiment_id !== id) return undefined;
      await this.finishCreate(id);
      const { pending: _p, ...rest } = item;
      item = rest;
    }
    if (typeof item.renaming === 'string') {
      const target = item.renaming;
      const claim = await this.readClaim(target);
      if (claim?.experiment_id === id) {
        const now = Date.now();
        await this.finishRename(id, item.name as string, target, now);
        const { renaming: _r, ...rest } = item;
        item = { ...rest, name: target, last_update_time: now };
      }
    }
    return item;
  }

  private async finishCreate(id: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.experiment(id),
          UpdateExpression: 'REMOVE pending',
          ConditionExpression: 'attribute_exists(pk)',
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
  }

  private async finishRename(id: string, oldName: string, newName: string, now: number): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.experiment(id),
          UpdateExpression: 'SET #n = :n, #t = :t REMOVE #r',
          // Another finisher (a reader rolling forward) may have done it already.
          ConditionExpression: '#r = :n',
          ExpressionAttributeNames: { '#n': 'name', '#t': 'last_update_time', '#r': 'renaming' },
          ExpressionAttributeValues: { ':n': newName, ':t': now },
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
    if (oldName === newName) return;
    // Release the old name only if it still points here.
    await this.db
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.experimentName(oldName),
          ConditionExpression: '#e = :id',
          ExpressionAttributeNames: { '#e': 'experiment_id' },
          ExpressionAttributeValues: { ':id': id },
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
  }

  private async readClaim(name: string): Promise<Item | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: keys.experimentName(name), ConsistentRead: true }),
    );
    return res.Item?.experiment_id ? res.Item : undefined;
  }

  /** Deletes a claim only if it is still the one that was judged orphaned (same token). */
  private async releaseClaim(name: string, claim: Item): Promise<void> {
    const token = claim.token as string | undefined;
    await this.db
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.experimentName(name),
          ConditionExpression: token ? '#e = :id AND #k = :k' : '#e = :id AND attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#e': 'experiment_id', '#k': 'token' },
          ExpressionAttributeValues: { ':id': claim.experiment_id, ...(token ? { ':k': token } : {}) },
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
  }

  /**
   * Claims a name for an experiment id; false when another experiment holds it. The same id
   * may re-claim its name (a retry), and an orphaned claim is released and taken over.
   */
  private async claimName(name: string, id: string): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            // A fresh token per put: a reader that judged the previous claim orphaned cannot release this one.
            Item: { ...keys.experimentName(name), experiment_id: id, token: randomUUID() },
            ConditionExpression: 'attribute_not_exists(#e) OR #e = :id',
            ExpressionAttributeNames: { '#e': 'experiment_id' },
            ExpressionAttributeValues: { ':id': id },
          }),
        );
        return true;
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
      // Held by another id: free only if that claim is an orphan.
      if ((await this.findExperimentIdByName(name)) !== undefined) return false;
    }
    return false;
  }

  async setExperimentLifecycle(id: string, stage: LifecycleStage, now: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.experiment(id),
        UpdateExpression: 'SET #s = :s, #t = :t',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#s': 'lifecycle_stage', '#t': 'last_update_time' },
        ExpressionAttributeValues: { ':s': stage, ':t': now },
      }),
    );
  }

  async setExperimentTag(id: string, key: string, value: string, now: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.experiment(id),
        UpdateExpression: 'SET #tags.#k = :v, #t = :t',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#k': key, '#tags': 'tags', '#t': 'last_update_time' },
        ExpressionAttributeValues: { ':v': value, ':t': now },
      }),
    );
  }

  async listExperiments(): Promise<Experiment[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': 'EXPS' },
    });
    const out: Experiment[] = [];
    for (const it of items) {
      // Only half-done creates and renames cost extra reads.
      const settled = it.pending || it.renaming ? await this.settle(it) : it;
      if (settled) out.push(toExperiment(settled));
    }
    return out;
  }
}

function toExperiment(item: Item): Experiment {
  return {
    experiment_id: item.experiment_id as string,
    name: item.name as string,
    artifact_location: item.artifact_location as string,
    lifecycle_stage: item.lifecycle_stage as LifecycleStage,
    creation_time: item.creation_time as number,
    last_update_time: item.last_update_time as number,
    tags: (item.tags ?? {}) as Record<string, string>,
  };
}
