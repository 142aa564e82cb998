import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { FeatureOfflineStore } from '../../lib/features/offline-store';

function synth(props: { cutoff?: number; kms?: boolean } = {}) {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const bucket = new s3.Bucket(stack, 'Features');
  const key = props.kms ? new kms.Key(stack, 'Key') : undefined;
  const store = new FeatureOfflineStore(stack, 'Offline', {
    bucket,
    stage: 'prod',
    ...(props.cutoff ? { bytesScannedCutoffPerQuery: props.cutoff } : {}),
    ...(key ? { encryptionKey: key } : {}),
  });
  const role = new iam.Role(stack, 'Fn', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  store.grantQuery(role);
  return { template: Template.fromStack(stack), store };
}

describe('FeatureOfflineStore', () => {
  it('creates the Glue database and an enforced workgroup with a scan limit and encrypted results', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'features_prod' } });
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'features-prod',
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } }),
      }),
    });
  });

  it('makes the results bucket private, TLS-only, encrypted and retained', () => {
    const { template } = synth();
    const buckets = template.findResources('AWS::S3::Bucket', {
      Properties: { LifecycleConfiguration: Match.anyValue() },
    });
    const [id, results] = Object.entries(buckets)[0] ?? [];
    expect(results?.DeletionPolicy).toBe('Retain');
    expect(results?.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(
      results?.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault
        .SSEAlgorithm,
    ).toBe('AES256');
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('uses the KMS key for results when one is given', () => {
    const { template } = synth({ kms: true, cutoff: 1024 ** 3 });
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        BytesScannedCutoffPerQuery: 1024 ** 3,
        ResultConfiguration: Match.objectLike({
          EncryptionConfiguration: Match.objectLike({ EncryptionOption: 'SSE_KMS' }),
        }),
      }),
    });
  });

  it('grants query rights on the workgroup only, not Athena-wide', () => {
    const { template } = synth();
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const statements = policies.flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string[]; Resource: unknown }[],
    );
    const athena = statements.find((st) => [st.Action].flat().includes('athena:StartQueryExecution'));
    // The ARN is joined with the partition token; its tail names the one workgroup.
    expect(JSON.stringify(athena?.Resource)).toContain(
      ':athena:eu-west-1:111111111111:workgroup/features-prod',
    );
    expect(athena?.Resource).not.toBe('*');
  });

  it('rejects a bad stage and a scan limit under Athena minimum at synth time', () => {
    const stack = new Stack();
    const bucket = new s3.Bucket(stack, 'B');
    expect(() => new FeatureOfflineStore(stack, 'A', { bucket, stage: 'Prod_1' })).toThrow(
      /stage 'Prod_1' must be/,
    );
    expect(
      () => new FeatureOfflineStore(stack, 'C', { bucket, stage: 'dev', bytesScannedCutoffPerQuery: 1000 }),
    ).toThrow(/at least 10 MB/);
  });
});

describe('FeatureOfflineStore Glue write grants', () => {
  const statementsOf = (grant: 'apply' | 'query') => {
    const stack = new Stack(new App(), 'G', { env: { account: '111111111111', region: 'eu-west-1' } });
    const store = new FeatureOfflineStore(stack, 'Offline', {
      bucket: new s3.Bucket(stack, 'B'),
      stage: 'prod',
    });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    if (grant === 'apply') store.grantApply(role);
    else store.grantQuery(role);
    return Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
  };
  const writer = (sts: { Action: string | string[]; Resource: unknown }[]) =>
    sts.find((st) => [st.Action].flat().includes('glue:CreateTable'));

  it('lets apply create, update and drop only the feature views tables of the features database', () => {
    const st = writer(statementsOf('apply'));
    expect([st?.Action].flat()).toEqual(['glue:CreateTable', 'glue:UpdateTable', 'glue:DeleteTable']);
    const res = JSON.stringify(st?.Resource);
    expect(res).toContain(':table/features_prod/offline_*');
    expect(res).toContain(':table/features_prod/manifests_*');
    expect(res).not.toContain('features_prod/*');
  });

  it('lets training-set builders write only the temporary ts_ tables', () => {
    const res = JSON.stringify(writer(statementsOf('query'))?.Resource);
    expect(res).toContain(':table/features_prod/ts_*');
    expect(res).not.toContain('offline_*');
  });
});
