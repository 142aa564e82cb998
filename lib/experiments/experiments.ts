import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { experimentRoutes } from '../../lambdas/experiments/api/routes';
import type { IPlatformApi } from '../api/platform-api';
import type { FunctionDefaults } from '../features/online-store';
import { PlatformFunction } from '../private/platform-function';
import { SecureTable } from '../private/secure-table';

export interface ExperimentsProps {
  readonly api: IPlatformApi;
  readonly functionDefaults: FunctionDefaults;
  /** The tracking table: the registry is read to check an experiment's versions. */
  readonly trackingTable: dynamodb.ITable;
  /** Keep the table when the stack is deleted. @default true */
  readonly retain?: boolean;
  /** Memory of the API function (the analysis reads every exposure and outcome). @default 1024 */
  readonly memorySize?: number;
}

/** What other areas may depend on: the table, and the grants serving and the log shipper need. */
export interface IExperiments {
  readonly table: dynamodb.ITable;
  /** Lets the predict function read its model's running experiment, and tells it the table. */
  enableAssignment(predict: lambda.Function): iam.Grant;
  /** Lets the log shipper record exposures (ExposureSink: conditional puts only). */
  grantRecordExposures(grantee: iam.IGrantable): iam.Grant;
}

/**
 * Online experiments (A/B tests): one on-demand table holding experiments, each model's
 * running slot, exposures and outcomes (docs/experiments.md has the keys), and one function
 * behind the platform API for `/v1/experiments` (create, read, list, stop, outcomes,
 * analysis). The predict function assigns units from the running slot; exposures are
 * written from the prediction log by the log shipper's ExposureSink.
 */
export class Experiments extends Construct implements IExperiments {
  readonly table: dynamodb.Table;
  readonly fn: PlatformFunction;

  constructor(scope: Construct, id: string, props: ExperimentsProps) {
    super(scope, id);
    this.table = new SecureTable(this, 'Table', {
      localName: 'experiments',
      indexes: ['gsi1'],
      retain: props.retain,
    }).table;
    this.fn = new PlatformFunction(this, 'Api', {
      ...props.functionDefaults('experiments'),
      entry: 'lambdas/experiments/handler.ts',
      memorySize: props.memorySize ?? 1024,
      timeout: Duration.seconds(29),
      environment: {
        EXPERIMENTS_TABLE: this.table.tableName,
        TABLE: props.trackingTable.tableName,
      },
    });
    // Least privilege: the item operations the store uses, on this table and its one index.
    iam.Grant.addToPrincipal({
      grantee: this.fn.fn,
      actions: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
      ],
      resourceArns: [this.table.tableArn],
    });
    iam.Grant.addToPrincipal({
      grantee: this.fn.fn,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/gsi1`],
    });
    // Versions are checked with one GetItem each.
    iam.Grant.addToPrincipal({
      grantee: this.fn.fn,
      actions: ['dynamodb:GetItem'],
      resourceArns: [props.trackingTable.tableArn],
    });
    props.api.addRoutes(this.fn.fn, experimentRoutes);
  }

  enableAssignment(predict: lambda.Function): iam.Grant {
    predict.addEnvironment('EXPERIMENTS_TABLE', this.table.tableName);
    return iam.Grant.addToPrincipal({
      grantee: predict,
      actions: ['dynamodb:GetItem'],
      resourceArns: [this.table.tableArn],
    });
  }

  grantRecordExposures(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem'],
      resourceArns: [this.table.tableArn],
    });
  }
}
