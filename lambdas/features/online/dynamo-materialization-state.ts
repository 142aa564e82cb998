import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import {
  type MaterializationState,
  type MaterializationStates,
  NO_REACH,
  UNKNOWN_REACH,
} from './online-table';

const STATE_SK = 'state';

/**
 * Materialization state on the online table, one item per view (`_materialization#<view>`):
 * watermark, reach, and the run in progress with its lease, all moved by conditional updates.
 */
export class DynamoMaterializationState implements MaterializationStates {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getState(view: string): Promise<MaterializationState> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: stateKey(view), sk: STATE_SK },
        ConsistentRead: true,
      }),
    );
    return stateOf(res.Item);
  }

  async raiseReach(view: string, to: number): Promise<number> {
    const Key = { pk: stateKey(view), sk: STATE_SK };
    let old: Record<string, unknown> | undefined;
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET reach = :r',
          ConditionExpression: 'attribute_not_exists(reach) OR reach < :r',
          ExpressionAttributeValues: { ':r': to },
          ReturnValues: 'ALL_OLD',
        }),
      );
      old = res.Attributes;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      // Already at or above `to`: its value now is at least the one the condition saw.
      return (await this.getState(view)).reach ?? UNKNOWN_REACH;
    }
    if (old?.['reach'] !== undefined) return Number(old['reach']);
    if (old?.['watermark'] === undefined) return NO_REACH;
    // Materialized by code that kept no reach: its items reach at least up to the watermark.
    const watermark = Number(old['watermark']);
    if (watermark > to) await this.raiseReach(view, watermark);
    return UNKNOWN_REACH;
  }

  async beginRun(
    view: string,
    runId: string,
    chunks: number,
    leaseUntil: number,
    nowMs: number,
    reach: number,
  ): Promise<{ ok: true; state: MaterializationState } | { ok: false; holder: string; until: number }> {
    const lease = await this.takeLease(view, runId, chunks, leaseUntil, nowMs);
    if (!lease.ok) return lease;
    // Reach first, then the floor it returned: a crash in between leaves no floor, and the
    // rerun then records the reach it finds (its own, at least), which only reads more.
    const before = await this.raiseReach(view, reach);
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKey(view), sk: STATE_SK },
          UpdateExpression: 'SET run_floor = :f',
          ConditionExpression: 'run_id = :id AND attribute_not_exists(run_floor)',
          ExpressionAttributeValues: { ':f': before, ':id': runId },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ok: true, state: stateOf(res.Attributes) };
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    // The same run resumed (its floor is kept), or another run took the lease in between.
    const state = await this.getState(view);
    if (state.run?.runId === runId) return { ok: true, state };
    return { ok: false, holder: state.run?.runId ?? '(unknown)', until: state.run?.leaseUntil ?? 0 };
  }

  private async takeLease(
    view: string,
    runId: string,
    chunks: number,
    leaseUntil: number,
    nowMs: number,
  ): Promise<{ ok: true } | { ok: false; holder: string; until: number }> {
    const Key = { pk: stateKey(view), sk: STATE_SK };
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          // The same run keeps its finished chunks and floor; a new run starts from none.
          UpdateExpression: 'SET lease_until = :u',
          ConditionExpression: 'run_id = :id AND chunks = :n',
          ExpressionAttributeValues: { ':id': runId, ':u': leaseUntil, ':n': chunks },
        }),
      );
      return { ok: true };
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET run_id = :id, lease_until = :u, chunks = :n, done = :none REMOVE run_floor',
          ConditionExpression: 'attribute_not_exists(run_id) OR lease_until < :now OR run_id = :id',
          ExpressionAttributeValues: {
            ':id': runId,
            ':u': leaseUntil,
            ':n': chunks,
            ':none': [],
            ':now': nowMs,
          },
        }),
      );
      return { ok: true };
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const s = await this.getState(view);
      return { ok: false, holder: s.run?.runId ?? '(unknown)', until: s.run?.leaseUntil ?? 0 };
    }
  }

  async renewLease(view: string, runId: string, leaseUntil: number, nowMs: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKey(view), sk: STATE_SK },
          UpdateExpression: 'SET lease_until = :u',
          ConditionExpression: 'run_id = :id AND lease_until >= :now',
          ExpressionAttributeValues: { ':id': runId, ':u': leaseUntil, ':now': nowMs },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      return false;
    }
  }

  async chunkDone(view: string, runId: string, chunkIndex: number, leaseUntil: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: stateKey(view), sk: STATE_SK },
        UpdateExpression: 'SET done = list_append(done, :c), lease_until = :u',
        ConditionExpression: 'run_id = :id',
        ExpressionAttributeValues: { ':c': [chunkIndex], ':id': runId, ':u': leaseUntil },
      }),
    );
  }

  async finishRun(view: string, runId: string, end: number): Promise<void> {
    const state = await this.getState(view);
    const watermark = Math.max(state.watermark ?? Number.MIN_SAFE_INTEGER, end);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: stateKey(view), sk: STATE_SK },
          UpdateExpression: 'SET watermark = :w REMOVE run_id, lease_until, chunks, done, run_floor',
          ConditionExpression: 'run_id = :id',
          ExpressionAttributeValues: { ':w': watermark, ':id': runId },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      // Already finished by an earlier attempt of the same step (a retried Lambda): nothing to do.
      if (state.run?.runId === runId) throw err;
    }
  }
}

function stateKey(view: string): string {
  return `_materialization#${view}`;
}

function stateOf(item: Record<string, unknown> | undefined): MaterializationState {
  if (!item) return {};
  const run =
    typeof item['run_id'] === 'string'
      ? {
          runId: item['run_id'],
          leaseUntil: Number(item['lease_until']),
          chunks: Number(item['chunks']),
          done: ((item['done'] as unknown[] | undefined) ?? []).map(Number),
          ...(item['run_floor'] !== undefined ? { floor: Number(item['run_floor']) } : {}),
        }
      : undefined;
  return {
    ...(item['watermark'] !== undefined ? { watermark: Number(item['watermark']) } : {}),
    ...(item['reach'] !== undefined ? { reach: Number(item['reach']) } : {}),
    ...(run ? { run } : {}),
  };
}
