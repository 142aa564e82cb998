import { Annotations, Aspects, Aws, type CfnElement, CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  ACCESS_ROLE_METADATA,
  ACCESS_ROLES,
  type AccessRoleName,
  invokeResource,
  overreach,
  PLANNED_ROUTES,
  type RouteKey,
} from '../../lambdas/platform/access/roles';
import { routeCapability } from '../../lambdas/platform/access/route-access';
import { arnInFinding } from '../private/nag-findings';
import type { PlatformApi } from './platform-api';

export interface AccessRolesProps {
  /** The API whose routes the roles may call; build the roles after every route is added. */
  readonly api: PlatformApi;
  readonly stage: string;
  /**
   * Principals that may assume the roles (users, roles, or accounts as `arn:aws:iam::<id>:root`).
   * @default the stack's account: any of its principals whose own policy allows sts:AssumeRole
   */
  readonly trustedPrincipalArns?: readonly string[];
}

/**
 * The platform's access roles (data scientist, deployer, serving), each allowed
 * `execute-api:Invoke` on exactly the method and path of the routes its capabilities
 * cover (lambdas/platform/access/roles.ts), and each ARN exported as a stack output.
 */
export class AccessRoles extends Construct {
  readonly roles: Readonly<Record<AccessRoleName, iam.Role>>;

  constructor(scope: Construct, id: string, props: AccessRolesProps) {
    super(scope, id);
    const { api } = props;
    const built = api.routes.length;
    // Classify now: an unlisted route fails synth with the table to add it to.
    const routes: (RouteKey & { access: string })[] = [
      ...api.routes.map((r) => ({ method: r.method, path: r.path, access: routeCapability(r) })),
      ...PLANNED_ROUTES,
    ];
    // A route added later is in no role's policy (fail closed): say so at synth.
    Aspects.of(this).add({
      visit: (c) => {
        if (c !== this) return;
        const late = api.routes.slice(built).map((r) => `${r.method} ${r.path}`);
        if (late.length)
          Annotations.of(this).addWarningV2(
            'mlops:access-late-routes',
            `no access role may call ${late.join(', ')}: the routes were added after the roles were built (create AccessRoles after every area's routes)`,
          );
      },
    });

    const stack = Stack.of(this);
    const apiId = stack.getLogicalId(api.api.node.defaultChild as CfnElement);
    const stageId = stack.getLogicalId(api.api.deploymentStage.node.defaultChild as CfnElement);
    const trusted = props.trustedPrincipalArns?.length
      ? new iam.CompositePrincipal(...props.trustedPrincipalArns.map((arn) => new iam.ArnPrincipal(arn)))
      : new iam.AccountRootPrincipal();

    const roles = {} as Record<AccessRoleName, iam.Role>;
    for (const [name, spec] of Object.entries(ACCESS_ROLES) as [
      AccessRoleName,
      (typeof ACCESS_ROLES)[AccessRoleName],
    ][]) {
      const held = new Set<string>(spec.capabilities);
      const resources = [
        ...new Set(routes.filter((r) => held.has(r.access)).map((r) => invokeResource(r))),
      ].sort();
      const beyond = overreach(resources, held, routes);
      if (beyond.length) {
        const { pattern, route } = beyond[0] as (typeof beyond)[number];
        throw new Error(
          `the ${name} role's ${pattern} would also allow ${route.method} ${route.path} (${route.access}), which it does not hold: give that route a path its pattern cannot reach, or change its capability in lambdas/platform/access/route-access.ts`,
        );
      }
      const role = new iam.Role(this, pascal(name), {
        assumedBy: trusted,
        description: `mlops ${props.stage} ${name}: ${spec.description}`,
        inlinePolicies: resources.length
          ? {
              Invoke: invokePolicy(api, resources),
            }
          : undefined,
      });
      (role.node.defaultChild as iam.CfnRole).addMetadata(ACCESS_ROLE_METADATA, name);
      // Wildcards stand for path parameters only; acknowledged one by one so a new one is seen.
      for (const r of resources.filter((x) => x.includes('*'))) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${arnInFinding(this, 'execute-api', `<${apiId}>/<${stageId}>/${r}`)}]`,
          reason: `The * in ${r} is the route's path parameter: one route, any model or artifact path.`,
        });
      }
      const output = new CfnOutput(this, `${pascal(name)}Arn`, {
        description: `Role to assume as ${name} (${spec.capabilities.join(', ')}); see docs/security.md`,
        value: role.roleArn,
        exportName: `mlops-${props.stage}-${name}-role-arn`,
      });
      output.overrideLogicalId(spec.outputName);
      roles[name] = role;
    }
    this.roles = roles;
  }
}

/**
 * The API's resource policy: only principals of this account may invoke it; what each may
 * call is decided by its own IAM policy (an account principal here delegates to them).
 */
/** One `execute-api:Invoke` statement on the stage's ARN of each `METHOD/path` resource. */
export function invokePolicy(api: PlatformApi, resources: readonly string[]): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: resources.map((r) => {
          const slash = r.indexOf('/');
          return api.api.arnForExecuteApi(
            r.slice(0, slash),
            r.slice(slash),
            api.api.deploymentStage.stageName,
          );
        }),
      }),
    ],
  });
}

export function accountOnlyApiPolicy(): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'AccountPrincipals',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      new iam.PolicyStatement({
        sid: 'DenyOtherAccounts',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
        conditions: { StringNotEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID } },
      }),
    ],
  });
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}
