import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../lib/app';
import type { FeatureOnlineStore } from '../../../lib/features/online-store';

// The online store as the platform wires it (one synth for every assertion).
let template: Template;
let online: FeatureOnlineStore;
let id: (c: { node: { defaultChild?: unknown } }) => string;
beforeAll(() => {
  const { stack } = buildApp({ stage: 'cdk-test' }, { nag: false, skipBundling: true });
  const store = stack.platform.features.online;
  if (!store) throw new Error('the platform has no online store');
  online = store;
  template = Template.fromStack(stack);
  id = (c) => Stack.of(stack).getLogicalId(c.node.defaultChild as CfnElement);
});

/** Every statement of the policies attached to a role. */
function statementsOf(
  roleId: string,
): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: roleId }] },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}
const actionsOf = (roleId: string) => statementsOf(roleId).flatMap((s) => [s.Action].flat());

describe('FeatureOnlineStore (CDK)', () => {
  it('keeps items in a pk/sk table with PITR, on-demand billing and the expires_at TTL attribute', () => {
    const table = template.toJSON().Resources[id(online.table)];
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.Metadata['mlops:local-name']).toBe('features-online');
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    });
  });

  it('runs a state machine that plans, materializes chunks in a Map and finishes, logged and traced', () => {
    const sm = template.toJSON().Resources[id(online.stateMachine)];
    const parts = sm.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    const definition = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'ARN')).join(''));
    expect(definition.StartAt).toBe('Plan');
    // Plan gets the execution input as is (a literal "$" payload once broke it).
    expect(definition.States.Plan.Parameters).toBeUndefined();
    expect(definition.States.Plan.Next).toBe('Chunks');
    expect(definition.States.Chunks).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.plan.tasks',
      MaxConcurrency: 10,
      Next: 'Finish',
    });
    expect(Object.keys(definition.States.Chunks.ItemProcessor.States)).toEqual(['Chunk']);
    // A failed chunk is retried (its writes are idempotent) before the execution fails.
    expect(definition.States.Chunks.ItemProcessor.States.Chunk.Retry).toContainEqual(
      expect.objectContaining({ ErrorEquals: ['States.ALL'], MaxAttempts: 3 }),
    );
    expect(definition.States.Finish.End).toBe(true);
    expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(sm.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
  });

  it('starts incremental materialization hourly from an EventBridge rule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        Match.objectLike({
          Arn: { Ref: id(online.stateMachine) },
          Input: JSON.stringify({ action: 'plan' }),
        }),
      ],
    });
  });

  it('alarms on read and write throttles and on failed and timed-out materializations', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const on = (metric: string, namespace: string) =>
      alarms.filter((a) => a.MetricName === metric && a.Namespace === namespace);
    for (const m of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      expect(on(m, 'AWS/DynamoDB').map((a) => a.Dimensions)).toEqual([
        [{ Name: 'TableName', Value: { Ref: id(online.table) } }],
      ]);
    }
    for (const m of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      const [alarm] = on(m, 'AWS/States');
      expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      expect(alarm?.Dimensions[0].Value).toEqual({ Ref: id(online.stateMachine) });
    }
  });

  it('grants each function only the S3 actions and prefixes it uses', () => {
    const apiRole = id(online.api.fn.role as never);
    const matRole = id(online.materializer.fn.role as never);
    const s3Actions = (role: string) =>
      [...new Set(actionsOf(role).filter((a) => a.startsWith('s3:')))].sort();
    expect(s3Actions(apiRole)).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    expect(s3Actions(matRole)).toEqual(['s3:GetObject', 's3:ListBucket']);
    const resourcesFor = (role: string, action: string) =>
      statementsOf(role)
        .filter((s) => [s.Action].flat().includes(action))
        .flatMap((s) => [s.Resource].flat())
        .map((r) => JSON.stringify(r).match(/\/([a-z]+\/)\*/)?.[1]);
    expect(resourcesFor(apiRole, 's3:PutObject')).toEqual(['offline/', 'quarantine/']);
    expect(resourcesFor(matRole, 's3:GetObject')).toEqual(['registry/', 'offline/']);
    // Listing is on the bucket itself (so a missing key answers 404, not 403), not on objects.
    const list = statementsOf(matRole).find((s) => s.Action === 's3:ListBucket');
    expect(JSON.stringify(list?.Resource)).not.toContain('/*');
    // Both write the table; neither gets table-wide admin actions.
    expect(actionsOf(matRole)).toContain('dynamodb:BatchWriteItem');
    expect(actionsOf(apiRole).filter((a) => /dynamodb:(Delete|Create)Table|dynamodb:\*/.test(a))).toEqual([]);
  });

  it('serves get-online-features and push on the platform API', () => {
    const resources = Object.values(template.findResources('AWS::ApiGateway::Resource')).map(
      (r) => r.Properties.PathPart,
    );
    expect(resources).toEqual(expect.arrayContaining(['get-online-features', 'push']));
    const apiFn = id(online.api.fn);
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      Integration: Match.objectLike({
        Uri: Match.objectLike({
          'Fn::Join': Match.arrayWith([
            Match.arrayWith([Match.objectLike({ 'Fn::GetAtt': [apiFn, 'Arn'] })]),
          ]),
        }),
      }),
    });
  });
});
