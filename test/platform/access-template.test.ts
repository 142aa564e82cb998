import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ACCESS_ROLE_METADATA,
  ACCESS_ROLES,
  type AccessRoleName,
  iamPatternMatches,
  invokeResource,
  overreach,
  PLANNED_ROUTES,
} from '../../lambdas/platform/access/roles';
import { classifiedRoutes, routeCapability } from '../../lambdas/platform/access/route-access';
import { defineRoute } from '../../lambdas/platform/http/route';
import { buildApp } from '../../lib/app';
import { resolvePlatformConfig } from '../../lib/config';
import { readAccessPrincipals } from '../../local/auth';
import { synthTemplate } from '../../local/synth';
import { type CfnTemplate, readTemplate } from '../../local/template';

let template: CfnTemplate;
type Resource = CfnTemplate['Resources'][string];

beforeAll(() => {
  template = synthTemplate({ stage: 'access' });
});

function synthTemplateOf(stack: ReturnType<typeof buildApp>['stack']): CfnTemplate {
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

function resourcesOfType(type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function roleOf(name: AccessRoleName): [string, Resource] {
  const found = resourcesOfType('AWS::IAM::Role').filter(
    ([, r]) => r.Metadata?.[ACCESS_ROLE_METADATA] === name,
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, Resource];
}

/** A template value as text, references as `<LogicalId>`. */
function render(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if (Array.isArray(o['Fn::Join'])) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(sep);
  }
  if ('Ref' in o) return `<${String(o.Ref)}>`;
  throw new Error(`unexpected ${JSON.stringify(v)}`);
}

describe('the access roles in the synthesized template', () => {
  it("list exactly their capabilities' routes, as execute-api ARNs of this API and stage", () => {
    const [apiId] = resourcesOfType('AWS::ApiGateway::RestApi')[0] as [string, Resource];
    const [stageId] = resourcesOfType('AWS::ApiGateway::Stage')[0] as [string, Resource];
    const built = readTemplate(template).routes.map((r) => ({ method: r.method, path: r.path }));
    expect(built.length).toBeGreaterThan(40);
    for (const name of Object.keys(ACCESS_ROLES) as AccessRoleName[]) {
      const [, role] = roleOf(name);
      const statements = role.Properties?.Policies.flatMap(
        (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
      );
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'execute-api:Invoke' });
      const prefix = `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/<${stageId}>/`;
      const arns = (statements[0].Resource as unknown[]).map(render);
      for (const arn of arns) expect(arn.startsWith(prefix)).toBe(true);

      const held = new Set<string>(ACCESS_ROLES[name].capabilities);
      const expected = [...built, ...PLANNED_ROUTES]
        .filter((r) => held.has(routeCapability(r)))
        .map(invokeResource);
      expect(arns.map((a) => a.slice(prefix.length)).sort()).toEqual([...new Set(expected)].sort());
    }
  });

  it('give the serving role the prediction routes and nothing else', () => {
    const serving = readAccessPrincipals(template).find((p) => p.name === 'serving');
    expect(serving?.allow).toContain('POST/v1/models/*/predict');
    expect(serving?.allow).toContain('POST/v2/models/*/infer');
    for (const r of readTemplate(template).routes) {
      const capability = routeCapability(r);
      const request = `${r.method}${r.path.replace(/\{[^}]+\}/g, 'x')}`;
      const reached = serving?.allow.some((p) => iamPatternMatches(p, request));
      expect(reached, `${r.method} ${r.path}`).toBe(capability === 'predict');
    }
  });

  it('let no role reach a route of a capability it does not hold through a wildcard', () => {
    const routes = readTemplate(template).routes.map((r) => ({ ...r, access: routeCapability(r) }));
    for (const p of readAccessPrincipals(template)) {
      const held = new Set<string>(ACCESS_ROLES[p.name as AccessRoleName].capabilities);
      expect(overreach(p.allow, held, routes), p.name).toEqual([]);
    }
    // The check itself: a parameter wildcard that also covers a longer route of another capability.
    const found = overreach(['GET/v2/models/*'], new Set(['predict']), [
      { method: 'GET', path: '/v2/models/{name}/versions/{version}/export', access: 'registry.read' },
    ]);
    expect(found).toHaveLength(1);
  });

  it('classify only routes that exist (no stale entry in the table)', () => {
    const built = new Set(readTemplate(template).routes.map((r) => `${r.method} ${r.path}`));
    const stale = classifiedRoutes().filter((r) => !built.has(`${r.method} ${r.path}`));
    expect(stale).toEqual([]);
  });

  it('are exported as stack outputs and assumable by the account by default', () => {
    const outputs = (template as unknown as { Outputs: Record<string, { Value: unknown; Export: unknown }> })
      .Outputs;
    for (const name of Object.keys(ACCESS_ROLES) as AccessRoleName[]) {
      const [id, role] = roleOf(name);
      const output = outputs[ACCESS_ROLES[name].outputName];
      expect(output?.Value).toEqual({ 'Fn::GetAtt': [id, 'Arn'] });
      expect(output?.Export).toEqual({ Name: `mlops-access-${name}-role-arn` });
      const trust = role.Properties?.AssumeRolePolicyDocument.Statement;
      expect(trust).toHaveLength(1);
      expect(render(trust[0].Principal.AWS)).toBe('arn:<AWS::Partition>:iam::<AWS::AccountId>:root');
    }
  });

  it('trust the configured principals instead of the account', () => {
    const trusted = ['arn:aws:iam::123456789012:role/ml-team', 'arn:aws:iam::123456789012:user/ci'];
    const t = synthTemplate({ stage: 'access', access: { trustedPrincipalArns: trusted } });
    const roles = Object.values(t.Resources).filter((r) => r.Metadata?.[ACCESS_ROLE_METADATA]);
    expect(roles).toHaveLength(3);
    for (const r of roles) {
      const principals = r.Properties?.AssumeRolePolicyDocument.Statement.flatMap(
        (s: { Principal: { AWS: string | string[] } }) => s.Principal.AWS,
      );
      expect([...principals].sort()).toEqual([...trusted].sort());
    }
  });

  it('refuse a trusted principal that is not an IAM principal ARN, naming the field', () => {
    expect(() => resolvePlatformConfig({ access: { trustedPrincipalArns: ['ml-team'] } })).toThrow(
      /access\.trustedPrincipalArns\.0: .*IAM principal ARNs/,
    );
    expect(() => resolvePlatformConfig({ access: { trustedPrincipalArns: [] } })).toThrow(
      /access\.trustedPrincipalArns: .*at least one/,
    );
  });

  it("fit IAM's 10,240-character limit on a role's inline policies, with long real names", () => {
    const longest = (text: string) =>
      text
        .replaceAll('<AWS::Partition>', 'aws-us-gov')
        .replaceAll('<AWS::Region>', 'ap-southeast-2')
        .replaceAll('<AWS::AccountId>', '123456789012')
        .replace(/<[A-Za-z0-9]+>\/<[A-Za-z0-9]+>/, `abcdef1234/${'s'.repeat(20)}`);
    for (const name of Object.keys(ACCESS_ROLES) as AccessRoleName[]) {
      const [, role] = roleOf(name);
      const docs = role.Properties?.Policies.map(
        (p: { PolicyDocument: { Statement: { Resource: unknown[] }[] } }) => ({
          ...p.PolicyDocument,
          Statement: p.PolicyDocument.Statement.map((s) => ({
            ...s,
            Resource: s.Resource.map((r) => longest(render(r))),
          })),
        }),
      );
      // IAM counts the policy without whitespace.
      expect(JSON.stringify(docs).length, name).toBeLessThan(10_240);
    }
  });
});

describe("the API's resource policy", () => {
  it('allows the account principals and denies every other account', () => {
    const [, api] = resourcesOfType('AWS::ApiGateway::RestApi')[0] as [string, Resource];
    // biome-ignore lint/suspicious/noExplicitAny: statements are asserted field by field
    const statements = api.Properties?.Policy.Statement as Record<string, any>[];
    const allow = statements.find((s) => s.Effect === 'Allow');
    expect(allow).toMatchObject({ Action: 'execute-api:Invoke', Resource: 'execute-api:/*' });
    expect(render(allow?.Principal.AWS)).toBe('arn:<AWS::Partition>:iam::<AWS::AccountId>:root');
    expect(allow?.Condition).toBeUndefined();
    const deny = statements.find((s) => s.Effect === 'Deny');
    expect(deny).toMatchObject({
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
      Principal: { AWS: '*' },
      Condition: { StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
    });
  });

  it('answers bad or expired signatures with UNAUTHENTICATED, like a missing one', () => {
    const codes = Object.fromEntries(
      resourcesOfType('AWS::ApiGateway::GatewayResponse').map(([, r]) => [
        r.Properties?.ResponseType,
        /"error_code":"([A-Z_]+)"/.exec(r.Properties?.ResponseTemplates['application/json'])?.[1],
      ]),
    );
    expect(codes).toMatchObject({
      MISSING_AUTHENTICATION_TOKEN: 'UNAUTHENTICATED',
      INVALID_SIGNATURE: 'UNAUTHENTICATED',
      EXPIRED_TOKEN: 'UNAUTHENTICATED',
      ACCESS_DENIED: 'PERMISSION_DENIED',
    });
  });
});

describe('building the roles', () => {
  it('leave a route added after them out of every role (fail closed), with a synth warning', () => {
    const { stack } = buildApp({ stage: 'late' }, { nag: false, skipBundling: true });
    const fn = new lambda.Function(stack, 'Late', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    stack.platform.api.addRoutes(fn, [
      defineRoute({ method: 'GET', path: '/late', summary: 'late', request: z.object({}) }),
    ]);
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp('no access role may call GET /late: the routes were added after the roles'),
    );
    const late = synthTemplateOf(stack);
    const principals = readAccessPrincipals(late);
    expect(principals).toHaveLength(3);
    for (const p of principals) expect(p.allow.some((a) => iamPatternMatches(a, 'GET/late'))).toBe(false);
  });
});
