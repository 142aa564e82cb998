import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoMaterializationState } from './dynamo-materialization-state';
import { DynamoOnlineItems } from './dynamo-online-items';
import type { OnlineTable } from './online-table';

export type { DynamoOnlineTableOptions } from './dynamo-online-items';

/**
 * The online store on DynamoDB (or dynalite): feature items (`dynamo-online-items.ts`) and
 * each view's materialization state (`dynamo-materialization-state.ts`) on one table.
 *
 * @example
 * const table = new DynamoOnlineTable(awsClients().dynamodb, process.env.ONLINE_TABLE!);
 */
export class DynamoOnlineTable extends DynamoOnlineItems implements OnlineTable {
  private readonly state = new DynamoMaterializationState(this.doc, this.tableName);
  readonly getState = this.state.getState.bind(this.state);
  readonly raiseReach = this.state.raiseReach.bind(this.state);
  readonly beginRun = this.state.beginRun.bind(this.state);
  readonly renewLease = this.state.renewLease.bind(this.state);
  readonly chunkDone = this.state.chunkDone.bind(this.state);
  readonly finishRun = this.state.finishRun.bind(this.state);
}

/**
 * Creates the online table when missing (`pk`/`sk` strings, on-demand), as the CDK construct
 * defines it: for the CLI and tests on a dynalite without the synthesized template.
 */
export async function ensureOnlineTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists(
    { client, maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.2 },
    { TableName: tableName },
  );
}
