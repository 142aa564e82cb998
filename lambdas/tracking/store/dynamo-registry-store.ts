import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../../platform/concurrency';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import type { ModelVersion, RegisteredModel, RegistryChange } from '../domain/model';
import { GSI1, keys } from './dynamo-keys';
import { ExpressionBuilder, queryAll } from './dynamo-util';
import type {
  PendingTransition,
  RegistrationAttempt,
  RegistryStore,
  StageMove,
  StoredModel,
} from './registry-store';

const MODEL_FIELDS = [
  'name',
  'creation_timestamp',
  'last_updated_timestamp',
  'user_id',
  'description',
  'tags',
  'aliases',
];

/**
 * RegistryStore on the shared table: the model item (`RM#<name>`/`RM`) holds tags,
 * aliases, the Production pointer, a revision and a version counter; versions
 * (`MV#<0-padded>`) and change records (`CH#<time>#<id>`) sit in the same partition.
 *
 * Crash safety without transactions (docs/tracking.md, "Crash safety"): a rename marks the
 * old model item `renaming: <new>`, then writes the new model item with `renamed_from: <old>`
 * (the commit point), copies versions and changes, deletes the old partition and clears
 * `renamed_from`. A reader of either name that finds a committed rename half done finishes it.
 * A version's registration check carries an attempt (`reg_at`, `reg_attempt`) that its
 * final write is conditional on, so a reader can take over a check a crash abandoned.
 */
export class DynamoRegistryStore implements RegistryStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async createModel(model: RegisteredModel): Promise<'created' | 'exists'> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.model(model.name),
            ...keys.modelIndex(model.name),
            ...model,
            rev: 0,
            last_version: 0,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'created';
    } catch (err) {
      if (isConditionFailed(err)) return 'exists';
      throw err;
    }
  }

  async getModel(name: string): Promise<StoredModel | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: keys.model(name), ConsistentRead: true }),
    );
    const it = res.Item && (await this.settleHead(res.Item));
    if (!it) return undefined;
    return {
      model: toModel(it),
      rev: it.rev as number,
      production: (it.production as string | undefined) ?? undefined,
      pending: it.pending as PendingTransition | undefined,
    };
  }

  async listModels(): Promise<RegisteredModel[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': 'MODELS' },
    });
    const settled: RegisteredModel[] = [];
    for (const it of items) {
      // Only a model caught in a rename needs a second look (read afresh: settling one name
      // may have finished the other's rename since the listing); it is listed under one name.
      if (it.renaming === undefined && it.renamed_from === undefined) settled.push(toModel(it));
      else {
        const m = await this.getModel(it.name as string);
        if (m) settled.push(m.model);
      }
    }
    return settled;
  }

  /**
   * A model item as readers may see it: under the old name of a committed rename it is
   * absent (the rename is finished first); under the new name, the copy is completed.
   */
  private async settleHead(item: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const name = item.name as string;
    if (typeof item.renaming === 'string') {
      const target = await this.rawHead(item.renaming);
      if (target?.renamed_from === name) {
        await this.finishRename(name, item.renaming);
        return undefined;
      }
      // Not committed (the new name was never written, or is another model's): the mark is inert.
    }
    if (typeof item.renamed_from === 'string') {
      const source = await this.rawHead(item.renamed_from);
      if (source && source.renaming !== name) {
        // An old copy's leftover (a rename from before marks were written): the source is another model now.
        await this.clearRenamedFrom(name, item.renamed_from);
      } else await this.finishRename(item.renamed_from, name);
      const { renamed_from: _f, ...rest } = item;
      return rest;
    }
    return item;
  }

  private async rawHead(name: string): Promise<Record<string, unknown> | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: keys.model(name), ConsistentRead: true }),
    );
    return res.Item;
  }

  async updateModel(
    name: string,
    changes: { description?: string; setTags?: Record<string, string>; deleteTags?: string[] },
    now: number,
  ): Promise<void> {
    const b = new ExpressionBuilder();
    const sets = [`${b.name('last_updated_timestamp')} = ${b.value(now)}`];
    const removes: string[] = [];
    if (changes.description !== undefined)
      sets.push(`${b.name('description')} = ${b.value(changes.description)}`);
    for (const [k, v] of Object.entries(changes.setTags ?? {}))
      sets.push(`${b.name('tags')}.${b.name(k)} = ${b.value(v)}`);
    for (const k of changes.deleteTags ?? []) removes.push(`${b.name('tags')}.${b.name(k)}`);
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.model(name),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_exists(pk)',
        ...b.attributes(),
      }),
    );
  }

  private partition(name: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': keys.model(name).pk },
      ConsistentRead: true,
    });
  }

  private async batch(requests: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let chunk = requests.slice(i, i + 25);
      for (let attempt = 0; chunk.length; attempt++) {
        const res = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: chunk } }));
        chunk = (res.UnprocessedItems?.[this.table] ?? []) as Record<string, unknown>[];
        if (chunk.length) await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  async deleteModel(name: string): Promise<void> {
    const items = await this.partition(name);
    // Versions and changes first, the model item last: a crash leaves a model that can be deleted again.
    const rest = items.filter((it) => it.sk !== 'RM');
    await this.batch(rest.map((it) => ({ DeleteRequest: { Key: { pk: it.pk, sk: it.sk } } })));
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.model(name) }));
  }

  async renameModel(name: string, newName: string, now: number): Promise<'ok' | 'exists'> {
    const head = await this.rawHead(name);
    if (!head) return 'ok';
    // 1. Intent on the old item, so a crash after the commit is rolled forward by a reader.
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.model(name),
        UpdateExpression: 'SET #r = :n',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#r': 'renaming' },
        ExpressionAttributeValues: { ':n': newName },
      }),
    );
    const { renaming: _r, renamed_from: _f, ...fields } = head;
    try {
      // 2. The commit point: the new name, taken only if free (or our own earlier copy).
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...fields,
            ...keys.model(newName),
            ...keys.modelIndex(newName),
            name: newName,
            last_updated_timestamp: now,
            renamed_from: name,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR renamed_from = :old',
          ExpressionAttributeValues: { ':old': name },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      await this.db
        .send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.model(name),
            UpdateExpression: 'REMOVE #r',
            ConditionExpression: '#r = :n',
            ExpressionAttributeNames: { '#r': 'renaming' },
            ExpressionAttributeValues: { ':n': newName },
          }),
        )
        .catch((e) => {
          if (!isConditionFailed(e)) throw e;
        });
      return 'exists';
    }
    // 3-5: copy, delete the old partition, clear the mark.
    await this.finishRename(name, newName);
    return 'ok';
  }

  /**
   * Finishes a committed rename (idempotent; the renamer and readers may run it at once):
   * copies what is left of the old partition without overwriting anything already copied,
   * deletes it (the model item last), then clears `renamed_from` on the new model item.
   */
  private async finishRename(name: string, newName: string): Promise<void> {
    const items = await this.partition(name);
    const rest = items.filter((it) => it.sk !== 'RM');
    const pk = keys.model(newName).pk;
    await mapLimit(rest, 8, async (it) => {
      await this.db
        .send(
          new PutCommand({
            TableName: this.table,
            Item: { ...it, pk, name: newName },
            // A copy may already exist and have changed since: never put an older one over it.
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((err) => {
          if (!isConditionFailed(err)) throw err;
        });
    });
    await this.batch(rest.map((it) => ({ DeleteRequest: { Key: { pk: it.pk, sk: it.sk } } })));
    await this.db
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.model(name),
          ConditionExpression: '#r = :n',
          ExpressionAttributeNames: { '#r': 'renaming' },
          ExpressionAttributeValues: { ':n': newName },
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
    await this.clearRenamedFrom(newName, name);
  }

  private async clearRenamedFrom(name: string, from: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.model(name),
          UpdateExpression: 'REMOVE #f',
          ConditionExpression: '#f = :o',
          ExpressionAttributeNames: { '#f': 'renamed_from' },
          ExpressionAttributeValues: { ':o': from },
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
  }

  async nextVersion(name: string): Promise<string> {
    const res = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.model(name),
        UpdateExpression: 'ADD #l :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#l': 'last_version' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return String(res.Attributes?.last_version);
  }

  async putVersion(v: ModelVersion, registration?: RegistrationAttempt): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...keys.version(v.name, v.version),
          ...v,
          ...(registration ? { reg_at: registration.startedAt, reg_attempt: registration.attempt } : {}),
        },
      }),
    );
  }

  async registrationOf(name: string, version: string): Promise<RegistrationAttempt | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: keys.version(name, version), ConsistentRead: true }),
    );
    const it = res.Item;
    if (it?.status !== 'PENDING_REGISTRATION') return undefined;
    // A version written before attempts were recorded: its age is its last update.
    if (it.reg_at === undefined)
      return { startedAt: it.last_updated_timestamp as number, attempt: 1, legacy: true };
    return { startedAt: it.reg_at as number, attempt: it.reg_attempt as number };
  }

  async settleRegistration(
    name: string,
    version: string,
    expected: RegistrationAttempt,
    changes: Pick<ModelVersion, 'status' | 'status_message' | 'last_updated_timestamp'>,
    next?: RegistrationAttempt,
  ): Promise<boolean> {
    const b = new ExpressionBuilder();
    const sets = Object.entries(changes).map(([k, v]) => `${b.name(k)} = ${b.value(v)}`);
    if (next)
      sets.push(
        `${b.name('reg_at')} = ${b.value(next.startedAt)}`,
        `${b.name('reg_attempt')} = ${b.value(next.attempt)}`,
      );
    const pending = `${b.name('status')} = ${b.value('PENDING_REGISTRATION')}`;
    const same = expected.legacy
      ? `attribute_not_exists(${b.name('reg_at')}) AND ${b.name('last_updated_timestamp')} = ${b.value(expected.startedAt)}`
      : `${b.name('reg_at')} = ${b.value(expected.startedAt)} AND ${b.name('reg_attempt')} = ${b.value(expected.attempt)}`;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.version(name, version),
          UpdateExpression: `SET ${sets.join(', ')}${next ? '' : ` REMOVE ${b.name('reg_at')}, ${b.name('reg_attempt')}`}`,
          ConditionExpression: `${pending} AND ${same}`,
          ...b.attributes(),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async getVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: keys.version(name, version), ConsistentRead: true }),
    );
    return res.Item ? toVersion(res.Item) : undefined;
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :p AND begins_with(sk, :mv)',
      ExpressionAttributeValues: { ':p': keys.model(name).pk, ':mv': 'MV#' },
      ConsistentRead: true,
    });
    return items.map(toVersion);
  }

  async updateVersion(
    name: string,
    version: string,
    changes: Partial<
      Pick<ModelVersion, 'description' | 'status' | 'status_message' | 'last_updated_timestamp'>
    > & {
      setTags?: Record<string, string>;
      deleteTags?: string[];
    },
  ): Promise<void> {
    const b = new ExpressionBuilder();
    const sets: string[] = [];
    const removes: string[] = [];
    const { setTags, deleteTags, ...fields } = changes;
    for (const [k, v] of Object.entries(fields))
      if (v !== undefined) sets.push(`${b.name(k)} = ${b.value(v)}`);
    for (const [k, v] of Object.entries(setTags ?? {}))
      sets.push(`${b.name('tags')}.${b.name(k)} = ${b.value(v)}`);
    for (const k of deleteTags ?? []) removes.push(`${b.name('tags')}.${b.name(k)}`);
    if (!sets.length && !removes.length) return;
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.version(name, version),
        UpdateExpression: [
          sets.length ? `SET ${sets.join(', ')}` : '',
          removes.length ? `REMOVE ${removes.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join(' '),
        ConditionExpression: 'attribute_exists(pk)',
        ...b.attributes(),
      }),
    );
  }

  async deleteVersion(name: string, version: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.version(name, version) }));
  }

  async compareAndSetModel(
    name: string,
    expectedRev: number,
    changes: {
      production?: string | null;
      setAlias?: [string, string];
      deleteAlias?: string;
      pending?: PendingTransition;
    },
    now: number,
  ): Promise<boolean> {
    const b = new ExpressionBuilder();
    const sets = [
      `${b.name('rev')} = ${b.value(expectedRev + 1)}`,
      `${b.name('last_updated_timestamp')} = ${b.value(now)}`,
    ];
    const removes: string[] = [];
    if (changes.production === null) removes.push(b.name('production'));
    else if (changes.production !== undefined)
      sets.push(`${b.name('production')} = ${b.value(changes.production)}`);
    if (changes.setAlias)
      sets.push(`${b.name('aliases')}.${b.name(changes.setAlias[0])} = ${b.value(changes.setAlias[1])}`);
    if (changes.deleteAlias) removes.push(`${b.name('aliases')}.${b.name(changes.deleteAlias)}`);
    if (changes.pending) sets.push(`${b.name('pending')} = ${b.value(changes.pending)}`);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.model(name),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: `${b.name('rev')} = ${b.value(expectedRev)}`,
          ...b.attributes(),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async applyStage(name: string, move: StageMove, rev: number, now: number): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.version(name, move.version),
          UpdateExpression: 'SET #s = :s, #r = :r, #t = :t',
          // A late writer of an older transition must not undo a newer one.
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#r) OR #r <= :r)',
          ExpressionAttributeNames: {
            '#s': 'current_stage',
            '#r': 'stage_rev',
            '#t': 'last_updated_timestamp',
          },
          ExpressionAttributeValues: { ':s': move.to, ':r': rev, ':t': now },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  async clearPending(name: string, pendingId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.model(name),
          UpdateExpression: 'REMOVE #p',
          ConditionExpression: '#p.#i = :id',
          ExpressionAttributeNames: { '#p': 'pending', '#i': 'id' },
          ExpressionAttributeValues: { ':id': pendingId },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  async addChange(change: RegistryChange, id: string): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys.change(change.name, change.timestamp, id), ...change },
      }),
    );
  }

  async listChanges(name: string): Promise<RegistryChange[]> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :c)',
        ExpressionAttributeValues: { ':p': keys.model(name).pk, ':c': 'CH#' },
      }),
    );
    return (res.Items ?? []).map((it) => {
      const { pk: _pk, sk: _sk, ...rest } = it;
      return rest as RegistryChange;
    });
  }
}

function toModel(it: Record<string, unknown>): RegisteredModel {
  const out: Record<string, unknown> = {};
  for (const f of MODEL_FIELDS) out[f] = it[f];
  return {
    ...(out as unknown as RegisteredModel),
    tags: (it.tags ?? {}) as Record<string, string>,
    aliases: (it.aliases ?? {}) as Record<string, string>,
    description: (it.description ?? '') as string,
  };
}

function toVersion(it: Record<string, unknown>): ModelVersion {
  const { pk: _pk, sk: _sk, stage_rev: _r, reg_at: _a, reg_attempt: _n, ...rest } = it;
  return { ...(rest as unknown as ModelVersion), tags: (it.tags ?? {}) as Record<string, string> };
}
