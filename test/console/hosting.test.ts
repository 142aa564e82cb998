import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';

type Resource = { Type: string; Properties?: Record<string, unknown> };

let template: Template;
let resources: Record<string, Resource>;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const one = (type: string) => {
  const found = ofType(type);
  expect(found).toHaveLength(1);
  return found[0] as [string, Resource];
};

/** The `METHOD/path` tail of every execute-api ARN in the console role's policy. */
function consoleRoutes(): string[] {
  const [, role] = ofType('AWS::IAM::Role').find(([, r]) =>
    JSON.stringify(r.Properties?.AssumeRolePolicyDocument).includes('cognito-identity.amazonaws.com'),
  ) as [string, Resource];
  const statements = (
    (role.Properties?.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[]
  ).flatMap((p) => p.PolicyDocument.Statement) as { Action: string; Resource: unknown[] }[];
  expect(statements.map((s) => s.Action)).toEqual(['execute-api:Invoke']);
  return (statements[0]?.Resource ?? []).map((arn) => {
    const parts = (arn as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const tail = String(parts[parts.length - 1]);
    // `/METHOD/path` after the stage's Ref
    return tail.slice(1);
  });
}

beforeAll(() => {
  const { stack } = buildApp({ stage: 'test' }, { skipBundling: true });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

describe('console hosting', () => {
  it('keeps the site bucket private, encrypted, SSL-only and logged', () => {
    const [id] = ofType('AWS::S3::Bucket').find(([, r]) =>
      JSON.stringify(r.Properties?.LoggingConfiguration ?? '').includes('console/'),
    ) as [string, Resource];
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: Match.anyValue(),
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'console/' }),
      }),
    });
    const policy = ofType('AWS::S3::BucketPolicy').find(
      ([, p]) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: id }),
    )?.[1];
    const text = JSON.stringify(policy);
    expect(text).toContain('"aws:SecureTransport":"false"');
    // Readable by CloudFront's service principal for this distribution only.
    expect(text).toContain('cloudfront.amazonaws.com');
    expect(text).toContain('AWS:SourceArn');
  });

  it('serves through CloudFront with Origin Access Control, HTTPS only and security headers', () => {
    one('AWS::CloudFront::OriginAccessControl');
    const [, dist] = one('AWS::CloudFront::Distribution');
    const config = dist.Properties?.DistributionConfig as Record<string, unknown>;
    expect(config.DefaultRootObject).toBe('index.html');
    const behavior = config.DefaultCacheBehavior as Record<string, unknown>;
    expect(behavior.ViewerProtocolPolicy).toBe('https-only');
    expect(behavior.ResponseHeadersPolicyId).toBeDefined();
    const origin = (config.Origins as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(origin.OriginAccessControlId).toBeDefined();
    expect(origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    const [, headers] = one('AWS::CloudFront::ResponseHeadersPolicy');
    const sec = JSON.stringify(headers.Properties);
    for (const h of [
      'ContentSecurityPolicy',
      'StrictTransportSecurity',
      'FrameOptions',
      'ContentTypeOptions',
    ])
      expect(sec).toContain(h);
  });

  it('has a user pool without self sign-up, a strong password policy and a secretless SRP client', () => {
    const [, pool] = one('AWS::Cognito::UserPool');
    expect(pool.Properties?.AdminCreateUserConfig).toEqual({ AllowAdminCreateUserOnly: true });
    expect(pool.Properties?.Policies).toMatchObject({
      PasswordPolicy: {
        MinimumLength: 14,
        RequireLowercase: true,
        RequireUppercase: true,
        RequireNumbers: true,
        RequireSymbols: true,
      },
    });
    const [, client] = one('AWS::Cognito::UserPoolClient');
    expect(client.Properties?.GenerateSecret).toBe(false);
    expect(client.Properties?.ExplicitAuthFlows).toEqual(['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']);
    const [, identities] = one('AWS::Cognito::IdentityPool');
    expect(identities.Properties?.AllowUnauthenticatedIdentities).toBe(false);
    const [, attachment] = one('AWS::Cognito::IdentityPoolRoleAttachment');
    expect(Object.keys(attachment.Properties?.Roles as object)).toEqual(['authenticated']);
  });

  it("lets signed-in users call only the API's read routes", () => {
    const routes = consoleRoutes();
    expect(routes).toContain('POST/api/2.0/mlflow/runs/search');
    expect(routes).toContain('GET/api/2.0/mlflow/runs/get');
    expect(routes).toContain('GET/v1/deployments/*');
    expect(routes).toContain('GET/features/registry');
    // Writes, rollbacks, predictions and presigned URLs stay out.
    for (const denied of [
      'POST/api/2.0/mlflow/runs/create',
      'PUT/api/2.0/mlflow-artifacts/artifacts/*',
      'GET/api/2.0/mlflow-artifacts/presigned/*',
      'POST/v1/deployments/*/rollback',
      'POST/v1/deployments',
      'POST/v1/models/*/predict',
      'POST/features/push',
      'POST/api/2.0/mlflow/model-versions/transition-stage',
    ])
      expect(routes).not.toContain(denied);
    expect(routes.every((r) => !r.startsWith('*'))).toBe(true);
  });

  it('forwards the API paths to the stage with the API host, uncached, so calls are same-origin', () => {
    const [, dist] = one('AWS::CloudFront::Distribution');
    const config = dist.Properties?.DistributionConfig as Record<string, unknown>;
    const behaviors = config.CacheBehaviors as Record<string, unknown>[];
    expect(behaviors.map((b) => b.PathPattern).sort()).toEqual([
      '/api/*',
      '/features/*',
      '/health',
      '/v1/*',
      '/v2/*',
    ]);
    const apiOrigin = (config.Origins as Record<string, unknown>[]).find(
      (o) => o.CustomOriginConfig,
    ) as Record<string, unknown>;
    expect(apiOrigin.OriginPath).toBe('/test');
    expect(JSON.stringify(apiOrigin.DomainName)).toContain('.execute-api.');
    expect(apiOrigin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only' });
    for (const b of behaviors) {
      expect(b.ViewerProtocolPolicy).toBe('https-only');
      expect(b.TargetOriginId).toBe(apiOrigin.Id);
      // Managed CachingDisabled, and AllViewerExceptHostHeader (the signed host is the API's).
      expect(b.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad');
      expect(b.OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac');
    }
    // The API itself stays IAM-only: no unauthenticated method (no CORS preflight) was added.
    for (const [, m] of ofType('AWS::ApiGateway::Method'))
      expect(m.Properties?.AuthorizationType).toBe('AWS_IAM');
  });

  it('deploys config.json naming the API, region, user pool, client and identity pool', () => {
    const [, deploy] = one('Custom::CDKBucketDeployment');
    const text = JSON.stringify(deploy.Properties);
    expect(text).toContain('config.json');
    expect(deploy.Properties?.DistributionPaths).toEqual(['/index.html', '/config.json']);
  });

  it('is left out when console.enabled is false', () => {
    const { stack } = buildApp({ stage: 'test', console: { enabled: false } }, { skipBundling: true });
    const json = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
    const types = new Set(Object.values(json).map((r) => r.Type));
    expect(types.has('AWS::CloudFront::Distribution')).toBe(false);
    expect(types.has('AWS::Cognito::UserPool')).toBe(false);
    expect(Object.values(json).some((r) => r.Properties?.HttpMethod === 'OPTIONS')).toBe(false);
  });
});
