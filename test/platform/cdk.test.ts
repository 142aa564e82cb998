import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { resolvePlatformConfig } from '../../lib/config';

let template: Template;

beforeAll(() => {
  const { stack } = buildApp({ stage: 'test' }, { nag: false, skipBundling: true });
  template = Template.fromStack(stack);
});

describe('the synthesized platform', () => {
  it('requires IAM (SigV4) authorization on every API method', () => {
    const methods = template.findResources('AWS::ApiGateway::Method');
    expect(Object.keys(methods).length).toBeGreaterThan(0);
    for (const m of Object.values(methods)) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('keeps every bucket private, encrypted and SSL-only', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets).length).toBeGreaterThan(0);
    for (const b of Object.values(buckets)) {
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.Properties.BucketEncryption).toBeDefined();
    }
    const policies = template.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies).length).toBe(Object.keys(buckets).length);
    for (const p of Object.values(policies)) {
      expect(JSON.stringify(p.Properties.PolicyDocument)).toContain('aws:SecureTransport');
    }
  });

  it('retains logs for the configured period', () => {
    const groups = template.findResources('AWS::Logs::LogGroup');
    expect(Object.keys(groups).length).toBeGreaterThan(0);
    for (const g of Object.values(groups)) expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('runs functions on a supported Node runtime with tracing, and names their handler module', () => {
    const fns = template.findResources('AWS::Lambda::Function', {
      Metadata: { 'mlops:entry': Match.anyValue() },
    });
    expect(Object.keys(fns).length).toBeGreaterThan(0);
    for (const f of Object.values(fns)) {
      expect(f.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('answers API Gateway errors with the platform error body', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'DEFAULT_4XX',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"error_code":"BAD_REQUEST"') },
    });
  });

  it('throttles and logs the API stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'test',
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }),
      ]),
    });
  });
});

describe('the platform configuration', () => {
  it('fills defaults so a team writes only what differs', () => {
    const c = resolvePlatformConfig({ stage: 'prod' });
    expect(c.servingBackend).toBe('lambda');
    expect(c.pipelineSchedule).toMatch(/^cron\(/);
  });

  it('names each wrong field at synth time', () => {
    expect(() => resolvePlatformConfig({ stage: 'Prod!', servingBackend: 'ec2', extra: 1 })).toThrow(
      /stage: stage must be[\s\S]*servingBackend[\s\S]*Unrecognized key/,
    );
  });
});
