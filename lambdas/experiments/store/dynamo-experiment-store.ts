import { createHash } from 'node:crypto';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../../platform/concurrency';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import type { SequentialState } from '../domain/looks';
import type {
  ExperimentPlan,
  ExperimentStatus,
  ExperimentStore,
  Exposure,
  StoredExperiment,
  StoredOutcome,
} from './experiment-store';

/**
 * Exposures and outcomes of one experiment are spread over this many partitions (by a hash
 * of the unit or outcome id), so a busy experiment's writes are not one hot partition key.
 */
export const SHARDS = 16;
const shardOf = (s: string) => (createHash('sha256').update(s, 'utf8').digest()[0] as number) % SHARDS;
const SHARD_LIST = Array.from({ length: SHARDS }, (_, i) => i);

/** The key design of the experiments table (docs/experiments.md has the table). */
export const experimentKeys = {
  experiment: (id: string) => ({ pk: `EXP#${id}`, sk: 'EXP' }),
  /** A model's experiments on gsi1, in creation order. */
  modelIndex: (model: string, createdAt: string, id: string) => ({
    gsi1pk: `MODEL#${model}`,
    gsi1sk: `${createdAt}#${id}`,
  }),
  /** The always-valid p-values carried across looks, one item per state key (an MDE). */
  sequential: (id: string, key: string) => ({ pk: `EXP#${id}`, sk: `SEQ#${key}` }),
  /** The model's running slot: at most one experiment holds it. */
  running: (model: string) => ({ pk: `RUNNING#${model}`, sk: 'RUNNING' }),
  exposurePartition: (experiment: string, shard: number) => `EXPO#${experiment}#${shard}`,
  exposure: (experiment: string, unit: string) => ({
    pk: experimentKeys.exposurePartition(experiment, shardOf(unit)),
    sk: `U#${unit}`,
  }),
  outcomePartition: (experiment: string, shard: number) => `OUT#${experiment}#${shard}`,
  outcome: (experiment: string, outcomeId: string) => ({
    pk: experimentKeys.outcomePartition(experiment, shardOf(outcomeId)),
    sk: `O#${outcomeId}`,
  }),
};

const PLAN_FIELDS = ['id', 'model', 'control_version', 'treatment_version', 'allocation', 'salt'] as const;
const EXPERIMENT_FIELDS = [
  ...PLAN_FIELDS,
  'status',
  'created_at',
  'started_at',
  'stopped_at',
  'status_message',
] as const;

function pick<K extends string>(item: Record<string, unknown>, fields: readonly K[]): Record<K, unknown> {
  const out = {} as Record<K, unknown>;
  for (const f of fields) if (item[f] !== undefined) out[f] = item[f];
  return out;
}

const toExperiment = (item: Record<string, unknown>) =>
  pick(item, EXPERIMENT_FIELDS) as unknown as StoredExperiment;
const toPlan = (item: Record<string, unknown>) => pick(item, PLAN_FIELDS) as unknown as ExperimentPlan;
const toOutcome = (item: Record<string, unknown>): StoredOutcome => ({
  outcome_id: item.outcome_id as string,
  unit_id: item.unit_id as string,
  arm: item.arm as string,
  converted: item.converted as boolean,
  // Kept as JavaScript's shortest exact text: DynamoDB numbers stop at 1e126 and 38 digits.
  value: Number(item.value),
  timestamp: item.timestamp as string,
});

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET = 100;
/** Conditional puts in flight per call. */
const WRITE_CONCURRENCY = 16;

/** The experiment store on one DynamoDB table (pk/sk, gsi1). */
export class DynamoExperimentStore implements ExperimentStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async insert(exp: StoredExperiment): Promise<StoredExperiment | undefined> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...experimentKeys.experiment(exp.id),
            ...experimentKeys.modelIndex(exp.model, exp.created_at, exp.id),
            ...exp,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return undefined;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    return this.get(exp.id);
  }

  async get(id: string): Promise<StoredExperiment | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: experimentKeys.experiment(id), ConsistentRead: true }),
    );
    return res.Item ? toExperiment(res.Item) : undefined;
  }

  async listByModel(model: string): Promise<StoredExperiment[]> {
    const out: StoredExperiment[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :p',
          ExpressionAttributeValues: { ':p': `MODEL#${model}` },
          ScanIndexForward: false,
          ExclusiveStartKey: start,
        }),
      );
      for (const it of res.Items ?? []) out.push(toExperiment(it));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async setStatus(
    id: string,
    from: readonly ExperimentStatus[],
    to: ExperimentStatus,
    fields: { started_at?: string; stopped_at?: string; status_message?: string } = {},
  ): Promise<boolean> {
    const sets = ['#s = :to'];
    const values: Record<string, unknown> = { ':to': to };
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      sets.push(`${k} = :${k}`);
      values[`:${k}`] = v;
    }
    from.forEach((s, i) => {
      values[`:f${i}`] = s;
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: experimentKeys.experiment(id),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `attribute_exists(pk) AND #s IN (${from.map((_, i) => `:f${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async remove(id: string, status: ExperimentStatus): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: experimentKeys.experiment(id),
          ConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': status },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  async running(model: string): Promise<ExperimentPlan | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: experimentKeys.running(model), ConsistentRead: true }),
    );
    return res.Item ? toPlan(res.Item) : undefined;
  }

  async claimRunning(plan: ExperimentPlan): Promise<string | undefined> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...experimentKeys.running(plan.model), ...pick({ ...plan }, PLAN_FIELDS) },
          ConditionExpression: 'attribute_not_exists(pk) OR #id = :id',
          ExpressionAttributeNames: { '#id': 'id' },
          ExpressionAttributeValues: { ':id': plan.id },
        }),
      );
      return undefined;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    const holder = await this.running(plan.model);
    // Released between the two calls: try again.
    return holder ? holder.id : this.claimRunning(plan);
  }

  async releaseRunning(model: string, id: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: experimentKeys.running(model),
          ConditionExpression: '#id = :id',
          ExpressionAttributeNames: { '#id': 'id' },
          ExpressionAttributeValues: { ':id': id },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  async recordExposures(exposures: readonly Exposure[]): Promise<number> {
    const written = await mapLimit(exposures, WRITE_CONCURRENCY, async (e) => {
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...experimentKeys.exposure(e.experiment, e.unit), arm: e.arm, at: e.at },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return 1;
      } catch (err) {
        if (isConditionFailed(err)) return 0;
        throw err;
      }
    });
    return written.reduce((a: number, b) => a + b, 0);
  }

  async exposedArms(experiment: string, units: readonly string[]): Promise<Map<string, string>> {
    const items = await this.batchGet(
      units.map((u) => experimentKeys.exposure(experiment, u)),
      'sk, arm',
    );
    return new Map(items.map((it) => [(it.sk as string).slice(2), it.arm as string]));
  }

  async exposureCounts(experiment: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    await mapLimit(SHARD_LIST, 4, async (shard) => {
      for await (const items of this.query(experimentKeys.exposurePartition(experiment, shard), 'arm')) {
        for (const it of items) counts.set(it.arm as string, (counts.get(it.arm as string) ?? 0) + 1);
      }
    });
    return counts;
  }

  async getOutcomes(experiment: string, ids: readonly string[]): Promise<Map<string, StoredOutcome>> {
    const items = await this.batchGet(ids.map((id) => experimentKeys.outcome(experiment, id)));
    return new Map(items.map((it) => [it.outcome_id as string, toOutcome(it)]));
  }

  async putOutcomes(
    experiment: string,
    outcomes: readonly StoredOutcome[],
  ): Promise<Map<string, StoredOutcome>> {
    const raced = new Map<string, StoredOutcome>();
    await mapLimit(outcomes, WRITE_CONCURRENCY, async (o) => {
      const key = experimentKeys.outcome(experiment, o.outcome_id);
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...key, ...o, value: String(o.value), recorded_at: new Date().toISOString() },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        const res = await this.db.send(
          new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
        );
        if (res.Item) raced.set(o.outcome_id, toOutcome(res.Item));
      }
    });
    return raced;
  }

  async *outcomes(experiment: string): AsyncIterable<readonly StoredOutcome[]> {
    for (const shard of SHARD_LIST) {
      for await (const items of this.query(experimentKeys.outcomePartition(experiment, shard))) {
        yield items.map(toOutcome);
      }
    }
  }

  async sequentialState(
    experiment: string,
    key: string,
  ): Promise<{ state: SequentialState; revision: number } | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: experimentKeys.sequential(experiment, key),
        ConsistentRead: true,
      }),
    );
    if (!res.Item) return undefined;
    // JSON text: p-values fall below DynamoDB's smallest number (1e-130) when an effect is large.
    return { state: JSON.parse(res.Item.state as string) as SequentialState, revision: Number(res.Item.rev) };
  }

  async putSequentialState(
    experiment: string,
    key: string,
    state: SequentialState,
    revision: number | undefined,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...experimentKeys.sequential(experiment, key),
            state: JSON.stringify(state),
            rev: (revision ?? 0) + 1,
            updated_at: new Date().toISOString(),
          },
          ConditionExpression: revision === undefined ? 'attribute_not_exists(pk)' : 'rev = :rev',
          ...(revision === undefined ? {} : { ExpressionAttributeValues: { ':rev': revision } }),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  private async *query(pk: string, projection?: string): AsyncIterable<Record<string, unknown>[]> {
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': pk },
          ...(projection ? { ProjectionExpression: projection } : {}),
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      yield res.Items ?? [];
      start = res.LastEvaluatedKey;
    } while (start);
  }

  /** BatchGetItem over any number of keys, retrying unprocessed ones. */
  private async batchGet(
    keys: readonly Record<string, string>[],
    projection?: string,
  ): Promise<Record<string, unknown>[]> {
    const chunks: Record<string, string>[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET) chunks.push(keys.slice(i, i + BATCH_GET));
    const found = await mapLimit(chunks, 4, async (chunk) => {
      const out: Record<string, unknown>[] = [];
      let pending: Record<string, unknown>[] = chunk;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
        const res = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.table]: {
                Keys: pending,
                ConsistentRead: true,
                ...(projection ? { ProjectionExpression: projection } : {}),
              },
            },
          }),
        );
        out.push(...(res.Responses?.[this.table] ?? []));
        pending = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as Record<string, unknown>[];
        if (attempt >= 8 && pending.length > 0) {
          throw Object.assign(new Error('BatchGetItem left keys unprocessed after 8 retries'), {
            name: 'ProvisionedThroughputExceededException',
          });
        }
      }
      return out;
    });
    return found.flat();
  }
}
