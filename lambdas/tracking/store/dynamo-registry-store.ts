import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import type { ModelVersion, RegisteredModel, RegistryChange } from '../domain/model';
import { GSI1, keys } from './dynamo-keys';
import { ExpressionBuilder, queryAll } from './dynamo-util';
import type { PendingTransition, RegistryStore, StageMove, StoredModel } from './registry-store';

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
    const it = res.Item;
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
    return items.map(toModel);
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
    const items = await this.partition(name);
    const head = items.find((it) => it.sk === 'RM');
    if (!head) return 'ok';
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...head,
            ...keys.model(newName),
            ...keys.modelIndex(newName),
            name: newName,
            last_updated_timestamp: now,
            renamed_from: name,
          },
          // A retry after a crash may overwrite its own earlier copy.
          ConditionExpression: 'attribute_not_exists(pk) OR renamed_from = :old',
          ExpressionAttributeValues: { ':old': name },
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) return 'exists';
      throw err;
    }
    const moved = items
      .filter((it) => it.sk !== 'RM')
      .map((it) => ({ PutRequest: { Item: { ...it, pk: keys.model(newName).pk, name: newName } } }));
    await this.batch(moved);
    await this.deleteModel(name);
    return 'ok';
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

  async putVersion(v: ModelVersion): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: { ...keys.version(v.name, v.version), ...v } }),
    );
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
  const { pk: _pk, sk: _sk, stage_rev: _r, ...rest } = it;
  return { ...(rest as unknown as ModelVersion), tags: (it.tags ?? {}) as Record<string, string> };
}
