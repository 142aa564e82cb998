import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { resolvePlatformConfig } from '../../lib/config';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are asserted by path
type Resources = Record<string, { Type: string; Properties?: any; DeletionPolicy?: string }>;

let kept: Template;
let disposable: Template;
/** An alarm and a raw CfnAlarm added to the stack after the platform was built. */
let later: Template;

beforeAll(() => {
  kept = Template.fromStack(buildApp({ stage: 'ops' }, { nag: false, skipBundling: true }).stack);
  disposable = Template.fromStack(
    buildApp(
      { stage: 'ops-tmp', retainData: false, alerts: { email: 'oncall@example.com' } },
      { nag: false, skipBundling: true },
    ).stack,
  );
  const { stack } = buildApp({ stage: 'ops-later' }, { nag: false, skipBundling: true });
  new cloudwatch.Alarm(stack, 'LateAlarm', {
    metric: new cloudwatch.Metric({ namespace: 'Team', metricName: 'Errors', period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
  });
  new cloudwatch.CfnAlarm(stack, 'RawAlarm', {
    namespace: 'Team',
    metricName: 'Latency',
    statistic: 'Average',
    period: 60,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: 'GreaterThanThreshold',
    alarmActions: ['arn:aws:sns:us-east-1:123456789012:team-pager'],
  });
  later = Template.fromStack(stack);
});

/** The logical id of the alert topic, read from the stack output that names it. */
function alertTopicId(t: Template): string {
  const outputs = t.toJSON().Outputs as Record<string, { Value: { Ref: string } }>;
  const ref = outputs.AlertTopicArn?.Value.Ref;
  if (!ref) throw new Error('no AlertTopicArn output');
  return ref;
}

function resources(t: Template, type: string): Resources {
  return t.findResources(type) as Resources;
}

describe('platform alerts', () => {
  it('publish to one KMS-encrypted, SSL-only topic whose ARN is the stack output AlertTopicArn', () => {
    const id = alertTopicId(kept);
    const topic = resources(kept, 'AWS::SNS::Topic')[id];
    expect(topic?.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    const policies = Object.values(resources(kept, 'AWS::SNS::TopicPolicy')).filter((p) =>
      JSON.stringify(p.Properties.Topics).includes(id),
    );
    expect(JSON.stringify(policies)).toContain('aws:SecureTransport');
    expect(kept.toJSON().Outputs.AlertTopicArn.Export).toEqual({ Name: 'mlops-ops-alert-topic-arn' });
  });

  it('let CloudWatch alarms use the topic key', () => {
    const topic = resources(kept, 'AWS::SNS::Topic')[alertTopicId(kept)];
    const keyId = topic?.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const key = resources(kept, 'AWS::KMS::Key')[keyId];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    const statements = key?.Properties.KeyPolicy.Statement as { Principal?: { Service?: string } }[];
    expect(statements.some((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com')).toBe(true);
  });

  it('mail the configured address, and no one when none is configured', () => {
    disposable.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: alertTopicId(disposable) },
    });
    expect(Object.keys(resources(kept, 'AWS::SNS::Subscription'))).toEqual([]);
  });

  it('are the action of every alarm in the stack, on ALARM and on OK', () => {
    const ref = { Ref: alertTopicId(kept) };
    const alarms = Object.values(resources(kept, 'AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toContainEqual(ref);
      expect(a.Properties.OKActions).toContainEqual(ref);
    }
  });

  it('reach alarms added after the platform, L2 or raw, keeping their own actions', () => {
    const ref = { Ref: alertTopicId(later) };
    const alarms = resources(later, 'AWS::CloudWatch::Alarm');
    const late = Object.entries(alarms).filter(([id]) => /^(LateAlarm|RawAlarm)/.test(id));
    expect(late).toHaveLength(2);
    for (const [, a] of late) {
      expect(a.Properties.AlarmActions).toContainEqual(ref);
      expect(a.Properties.OKActions).toContainEqual(ref);
      // One action per topic: an alarm is never sent twice to the same place.
      expect(
        a.Properties.AlarmActions.filter((x: unknown) => JSON.stringify(x) === JSON.stringify(ref)),
      ).toHaveLength(1);
    }
    const raw = late.find(([id]) => id.startsWith('RawAlarm'))?.[1];
    expect(raw?.Properties.AlarmActions).toContain('arn:aws:sns:us-east-1:123456789012:team-pager');
  });

  it('receive the pipeline failure notices, and the state machine may use the topic key', () => {
    const id = alertTopicId(kept);
    // The alert topic is the only topic: the pipeline keeps no unsubscribed one of its own.
    expect(Object.keys(resources(kept, 'AWS::SNS::Topic'))).toEqual([id]);
    const [machine] = Object.entries(resources(kept, 'AWS::StepFunctions::StateMachine')).filter(([name]) =>
      name.startsWith('PlatformTrainingPipeline'),
    );
    expect(JSON.stringify(machine?.[1].Properties.DefinitionString)).toContain(`{"Ref":"${id}"}`);
    const keyId = resources(kept, 'AWS::SNS::Topic')[id]?.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const roleId = machine?.[1].Properties.RoleArn['Fn::GetAtt'][0];
    const policies = Object.values(resources(kept, 'AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(roleId),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
      }),
    );
  });

  it('refuse a configured address that is not an e-mail address, naming the field', () => {
    expect(() => resolvePlatformConfig({ alerts: { email: 'oncall' } })).toThrow(
      /alerts\.email: alerts\.email must be an e-mail address/,
    );
    expect(() => resolvePlatformConfig({ alerts: { sms: '+15550100' } })).toThrow(/alerts[\s\S]*sms/);
  });
});

describe('deleting the stack', () => {
  it("keeps API Gateway's account-wide logging role and setting, which every API in the region uses", () => {
    for (const t of [kept, disposable]) {
      const accounts = Object.values(resources(t, 'AWS::ApiGateway::Account'));
      expect(accounts).toHaveLength(1);
      expect(accounts[0]?.DeletionPolicy).toBe('Retain');
      const roleId = accounts[0]?.Properties.CloudWatchRoleArn['Fn::GetAtt'][0];
      expect(resources(t, 'AWS::IAM::Role')[roleId]?.DeletionPolicy).toBe('Retain');
    }
  });

  it('keeps every bucket and table, untouched, when data is retained', () => {
    // The console's site bucket holds only a build, rebuilt on every deploy: it always goes.
    const site = Object.keys(resources(kept, 'AWS::S3::Bucket')).filter((id) => /ConsoleSite/.test(id));
    expect(site).toHaveLength(1);
    for (const [id, b] of Object.entries(resources(kept, 'AWS::S3::Bucket')))
      if (!site.includes(id)) expect(b.DeletionPolicy).toBe('Retain');
    for (const t of Object.values(resources(kept, 'AWS::DynamoDB::Table')))
      expect(t.DeletionPolicy).toBe('Retain');
    const emptied = Object.values(resources(kept, 'Custom::S3AutoDeleteObjects')).map(
      (c) => c.Properties.BucketName.Ref,
    );
    expect(emptied).toEqual(site);
  });

  it('empties and deletes every bucket when data is not retained', () => {
    const buckets = resources(disposable, 'AWS::S3::Bucket');
    const emptied = Object.values(resources(disposable, 'Custom::S3AutoDeleteObjects')).map(
      (c) => c.Properties.BucketName.Ref,
    );
    expect(Object.keys(buckets).length).toBeGreaterThan(0);
    for (const [id, b] of Object.entries(buckets)) {
      expect(b.DeletionPolicy).toBe('Delete');
      expect(emptied).toContain(id);
    }
    for (const t of Object.values(resources(disposable, 'AWS::DynamoDB::Table'))) {
      expect(t.DeletionPolicy).toBe('Delete');
    }
  });

  it('deletes the Athena workgroups (offline store, drift job) even after queries ran in them, in both configurations', () => {
    for (const t of [kept, disposable]) {
      const groups = Object.values(resources(t, 'AWS::Athena::WorkGroup'));
      expect(groups).toHaveLength(2);
      for (const g of groups) expect(g.Properties.RecursiveDeleteOption).toBe(true);
    }
  });
});
