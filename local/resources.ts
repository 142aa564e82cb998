import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { localDynamoClients } from './engines/dynamodb';
import type { LocalFunction, LocalPlan, LocalTable } from './template';

/** Local ARN of a Lambda function, by logical id (what state machine definitions name). */
export function localFunctionArn(logicalId: string): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:${logicalId}`;
}

/**
 * Resolves a template value to its local form: a `Ref` to a table or bucket becomes its
 * local name, `Fn::GetAtt [X, Arn]` a local ARN, `Fn::Join` is joined; plain values stay.
 */
export function resolveValue(v: unknown, plan: LocalPlan): string | undefined {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const names = localNames(plan);
  if (typeof o.Ref === 'string') {
    if (o.Ref === 'AWS::Region') return 'us-east-1';
    if (o.Ref === 'AWS::AccountId') return '000000000000';
    if (o.Ref === 'AWS::Partition') return 'aws';
    if (o.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
    const type = plan.template.Resources[o.Ref]?.Type ?? '';
    if (type === 'AWS::SNS::Topic') return `arn:aws:sns:us-east-1:000000000000:${o.Ref}`;
    if (type === 'AWS::StepFunctions::StateMachine')
      return `arn:aws:states:us-east-1:000000000000:stateMachine:${o.Ref}`;
    return names.get(o.Ref) ?? o.Ref;
  }
  const getAtt = o['Fn::GetAtt'];
  if (Array.isArray(getAtt)) {
    const [id, attr] = getAtt as [string, string];
    const type = plan.template.Resources[id]?.Type ?? '';
    const name = names.get(id) ?? id;
    if (attr === 'Arn' && type === 'AWS::Lambda::Function') return localFunctionArn(id);
    if (attr === 'Arn' && type === 'AWS::DynamoDB::Table')
      return `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`;
    if (attr === 'Arn' && type === 'AWS::S3::Bucket') return `arn:aws:s3:::${name}`;
    if (attr === 'TopicArn' || (attr === 'Arn' && type === 'AWS::SNS::Topic')) {
      return `arn:aws:sns:us-east-1:000000000000:${id}`;
    }
    return `arn:aws:local:us-east-1:000000000000:${id}`;
  }
  const join = o['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    const parts = (join[1] as unknown[]).map((p) => resolveValue(p, plan));
    return parts.every((p) => p !== undefined) ? parts.join(String(join[0])) : undefined;
  }
  return undefined;
}

const namesCache = new WeakMap<LocalPlan, Map<string, string>>();
function localNames(plan: LocalPlan): Map<string, string> {
  let names = namesCache.get(plan);
  if (!names) {
    names = new Map<string, string>();
    for (const t of plan.tables) names.set(t.logicalId, t.localName);
    for (const b of plan.buckets) names.set(b.logicalId, b.localName);
    namesCache.set(plan, names);
  }
  return names;
}

/** A function's template environment with every value resolved to local resources. */
export function resolveEnvironment(fn: LocalFunction, plan: LocalPlan): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(fn.environment)) {
    const r = resolveValue(v, plan);
    if (r !== undefined) env[k] = r;
  }
  return env;
}

/** The CreateTable request the template's table resource describes. */
function createTableInput(table: LocalTable): CreateTableCommandInput {
  const p = table.properties;
  return {
    TableName: table.localName,
    KeySchema: p.KeySchema,
    AttributeDefinitions: p.AttributeDefinitions,
    BillingMode: 'PAY_PER_REQUEST',
    GlobalSecondaryIndexes: p.GlobalSecondaryIndexes?.map((g: Record<string, unknown>) => ({
      IndexName: g.IndexName,
      KeySchema: g.KeySchema,
      Projection: g.Projection,
    })),
    LocalSecondaryIndexes: p.LocalSecondaryIndexes,
  };
}

/**
 * Creates in dynalite every table the template defines, with its keys and indexes;
 * existing tables (data from an earlier run) are kept.
 */
export async function ensureTables(plan: LocalPlan, endpoint: string): Promise<string[]> {
  const { client } = localDynamoClients(endpoint);
  const created: string[] = [];
  try {
    for (const table of plan.tables) {
      try {
        await client.send(new DescribeTableCommand({ TableName: table.localName }));
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err;
        await client.send(new CreateTableCommand(createTableInput(table)));
        // dynalite answers CREATING first; writes before ACTIVE fail as on AWS.
        await waitUntilTableExists(
          { client, maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.2 },
          { TableName: table.localName },
        );
        created.push(table.localName);
      }
    }
  } finally {
    client.destroy();
  }
  return created;
}
