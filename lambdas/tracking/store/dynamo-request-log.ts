import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import { keys } from './dynamo-keys';
import type { RequestLog } from './tracking-store';

/** Answers of creates sent with an Idempotency-Key, kept for a while so a retry gets the same one. */
export class DynamoRequestLog implements RequestLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claimRequest(
    fingerprint: string,
    ttlSeconds: number,
  ): Promise<{ result: unknown } | 'claimed' | 'busy'> {
    const now = Math.floor(Date.now() / 1000);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.request(fingerprint), expires_at: now + ttlSeconds },
          ConditionExpression: 'attribute_not_exists(pk) OR #x < :now',
          ExpressionAttributeNames: { '#x': 'expires_at' },
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return 'claimed';
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: keys.request(fingerprint), ConsistentRead: true }),
    );
    return res.Item && 'result' in res.Item ? { result: JSON.parse(res.Item.result as string) } : 'busy';
  }

  async completeRequest(fingerprint: string, result: unknown, ttlSeconds: number): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...keys.request(fingerprint),
          result: JSON.stringify(result),
          expires_at: Math.floor(Date.now() / 1000) + ttlSeconds,
        },
      }),
    );
  }

  async releaseRequest(fingerprint: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.request(fingerprint),
        UpdateExpression: 'SET #x = :zero',
        ExpressionAttributeNames: { '#x': 'expires_at' },
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
  }
}
