import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { LOCAL_NAME_METADATA } from './local-metadata';

export interface SecureTableProps {
  /** Name the local runtime gives this table in dynalite (`tracking`). */
  readonly localName: string;
  /** Global secondary indexes, each with a string partition and sort key named `<index>pk`/`<index>sk`. @default - none */
  readonly indexes?: readonly string[];
  /** Attribute holding an expiry time in epoch seconds. @default - no TTL */
  readonly timeToLiveAttribute?: string;
  /** Keep the table when the stack is deleted. @default true */
  readonly retain?: boolean;
}

/**
 * A single-table-design DynamoDB table with the platform's defaults: on-demand billing
 * (nothing to pay when idle), `pk`/`sk` string keys, point-in-time recovery, AWS-managed
 * encryption, deletion protection when retained, and metadata naming it for the local runtime.
 */
export class SecureTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: SecureTableProps) {
    super(scope, id);
    const retain = props.retain ?? true;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: retain,
      timeToLiveAttribute: props.timeToLiveAttribute,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const index of props.indexes ?? []) {
      this.table.addGlobalSecondaryIndex({
        indexName: index,
        partitionKey: { name: `${index}pk`, type: dynamodb.AttributeType.STRING },
        sortKey: { name: `${index}sk`, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    (this.table.node.defaultChild as dynamodb.CfnTable).addMetadata(LOCAL_NAME_METADATA, props.localName);
  }
}
