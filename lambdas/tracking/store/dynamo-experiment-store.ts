import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import type { Experiment, LifecycleStage } from '../domain/model';
import { GSI1, keys } from './dynamo-keys';
import { queryAll } from './dynamo-util';
import type { ExperimentStore } from './tracking-store';

/**
 * Experiments on the tracking table: ids from a counter item, and each name claimed by a
 * conditional put, so two experiments never share a name.
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
    if (!(await this.claimName(exp.name, exp.experiment_id))) return 'name-taken';
    await this.db
      .send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.experiment(exp.experiment_id), ...keys.experimentIndex(exp.experiment_id), ...exp },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
    return 'created';
  }

  async getExperiment(id: string): Promise<Experiment | undefined> {
    const res = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.experiment(id) }));
    return res.Item ? toExperiment(res.Item) : undefined;
  }

  async findExperimentIdByName(name: string): Promise<string | undefined> {
    const res = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.experimentName(name) }));
    return res.Item?.experiment_id as string | undefined;
  }

  async renameExperiment(exp: Experiment, newName: string, now: number): Promise<'ok' | 'name-taken'> {
    if (!(await this.claimName(newName, exp.experiment_id))) return 'name-taken';
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.experiment(exp.experiment_id),
        UpdateExpression: 'SET #n = :n, #t = :t',
        ExpressionAttributeNames: { '#n': 'name', '#t': 'last_update_time' },
        ExpressionAttributeValues: { ':n': newName, ':t': now },
      }),
    );
    // Release the old name only if it still points here (a crash before this leaves a stale claim that the same id may reuse).
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.experimentName(exp.name),
          UpdateExpression: 'REMOVE #e',
          ConditionExpression: '#e = :id',
          ExpressionAttributeNames: { '#e': 'experiment_id' },
          ExpressionAttributeValues: { ':id': exp.experiment_id },
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw err;
      });
    return 'ok';
  }

  /**
   * Claims a name for an experiment id; false when another experiment holds it. The same id
   * may re-claim its name: a retry after a crash between the claim and the experiment's put.
   */
  private async claimName(name: string, id: string): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.experimentName(name), experiment_id: id },
          ConditionExpression: 'attribute_not_exists(#e) OR #e = :id',
          ExpressionAttributeNames: { '#e': 'experiment_id' },
          ExpressionAttributeValues: { ':id': id },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
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
    return items.map(toExperiment);
  }
}

function toExperiment(item: Record<string, unknown>): Experiment {
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
