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
