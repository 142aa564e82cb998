import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  Annotations,
  type CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { consoleMayCall } from '../../lambdas/platform/access/console-access';
import { invokeResource, overreach } from '../../lambdas/platform/access/roles';
import { routeCapability } from '../../lambdas/platform/access/route-access';
import { invokePolicy } from '../api/access-roles';
import type { PlatformApi } from '../api/platform-api';
import { arnAttrInFinding, arnInFinding } from '../private/nag-findings';
import { SecureBucket } from '../private/secure-bucket';

export interface ConsoleHostingProps {
  /** The API the console reads; build the console after every area's routes are added. */
  readonly api: PlatformApi;
  readonly stage: string;
  /** Receives the site bucket's server access logs. */
  readonly accessLogs: s3.IBucket;
  /** Keep the user pool when the stack is deleted (its users). @default true */
  readonly retainUsers?: boolean;
  /**
   * The built console (`npm run console:build`). When it has no index.html (tests synthesize
   * without building), only config.json is deployed and synth warns.
   * @default 'console/dist' of the working directory
   */
  readonly distDir?: string;
}

/** What the console reads at start (`config.json` next to index.html). */
export interface ConsoleCognitoConfig {
  readonly apiUrl: string;
  readonly auth: 'cognito';
  readonly region: string;
  readonly userPoolId: string;
  readonly clientId: string;
  readonly identityPoolId: string;
  /** Where calls are sent: '' is the console's own origin (CloudFront forwards them to apiUrl). */
  readonly fetchBase: string;
}

/**
 * The web console on AWS: the built pages in a private bucket served by CloudFront through
 * Origin Access Control (HTTPS only, security headers); sign-in with a Cognito user pool
 * (SRP from the console's own page: no hosted UI domain), and an identity pool whose
 * authenticated role may call only the API's read routes (consoleMayCall), SigV4-signed.
 *
 * The API's paths are forwarded by the same distribution (same origin, so no CORS): a
 * preflight OPTIONS method per resource would take the stack past CloudFormation's 500
 * resources, and the functions' proxy answers carry no CORS headers. The browser signs for
 * the API's own host and stage path; CloudFront sends the API's host (not the viewer's) and
 * prefixes the stage, so API Gateway checks the signature it was given, with IAM as before.
 */
export class ConsoleHosting extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly identityPool: cognito.CfnIdentityPool;
  /** The role of signed-in console users. */
  readonly role: iam.Role;
  /** `https://<distribution domain>`: the console's URL and the API's only allowed browser origin. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { api } = props;
    const retainUsers = props.retainUsers ?? true;

    // The site is rebuilt from sources on every deploy: nothing to keep or version.
    this.bucket = new SecureBucket(this, 'Site', {
      localName: 'console',
      accessLogs: props.accessLogs,
      retain: false,
      versioned: false,
    }).bucket;

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: `mlops ${props.stage} console: security headers`,
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          // Scripts and styles from the site only; calls to the API and Cognito of this region.
          contentSecurityPolicy: [
            "default-src 'self'",
            "img-src 'self' data: blob: https:",
            "style-src 'self' 'unsafe-inline'",
            `connect-src 'self' https://cognito-idp.${stack.region}.amazonaws.com https://cognito-identity.${stack.region}.amazonaws.com`,
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
          ].join('; '),
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
      },
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `mlops ${props.stage} web console`,
      defaultRootObject: 'index.html',
      // The console routes with the URL's hash (#/runs): every path it loads is a real file,
      // so no SPA fallback rewrites a missing object into index.html.
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
      },
      additionalBehaviors: apiBehaviors(api, props.stage, headers),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    this.userPool = new cognito.UserPool(this, 'Users', {
      userPoolName: `mlops-${props.stage}-console`,
      // Accounts are created by an administrator (docs/console.md), never by a visitor.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      removalPolicy: retainUsers ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.client = this.userPool.addClient('Browser', {
      // A browser cannot keep a secret; SRP never sends the password.
      generateSecret: false,
      authFlows: { userSrp: true },
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      enableTokenRevocation: true,
    });
    this.identityPool = new cognito.CfnIdentityPool(this, 'Identities', {
      identityPoolName: `mlops_${props.stage}_console`.replace(/[^\w]/g, '_'),
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
      cognitoIdentityProviders: [
        {
          clientId: this.client.userPoolClientId,
          providerName: this.userPool.userPoolProviderName,
          serverSideTokenCheck: true,
        },
      ],
    });

    // The console's routes: the read routes of the API, each as one execute-api ARN.
    const routes = api.routes.map((r) => {
      const access = routeCapability(r);
      return { method: r.method, path: r.path, access: consoleMayCall(r, access) ? 'console' : access };
    });
    const resources = [
      ...new Set(routes.filter((r) => r.access === 'console').map((r) => invokeResource(r))),
    ].sort();
    const beyond = overreach(resources, new Set(['console']), routes);
    if (beyond.length) {
      const { pattern, route } = beyond[0] as (typeof beyond)[number];
      throw new Error(
        `the console role's ${pattern} would also allow ${route.method} ${route.path} (${route.access}): give that route a path the pattern cannot reach, or change its capability in lambdas/platform/access/route-access.ts`,
      );
    }
    this.role = new iam.Role(this, 'SignedInRole', {
      description: `mlops ${props.stage} console users: read routes of the API only`,
      assumedBy: new iam.FederatedPrincipal(
        'cognito-identity.amazonaws.com',
        {
          StringEquals: { 'cognito-identity.amazonaws.com:aud': this.identityPool.ref },
          'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
        },
        'sts:AssumeRoleWithWebIdentity',
      ),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: {
        Invoke: invokePolicy(api, resources),
      },
    });
    new cognito.CfnIdentityPoolRoleAttachment(this, 'Roles', {
      identityPoolId: this.identityPool.ref,
      roles: { authenticated: this.role.roleArn },
    });
    const apiId = stack.getLogicalId(api.api.node.defaultChild as CfnElement);
    const stageId = stack.getLogicalId(api.api.deploymentStage.node.defaultChild as CfnElement);
    for (const r of resources.filter((x) => x.includes('*'))) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${arnInFinding(this, 'execute-api', `<${apiId}>/<${stageId}>/${r}`)}]`,
        reason: `The * in ${r} is the route's path parameter: one read route, any model or artifact path.`,
      });
    }

    const config: ConsoleCognitoConfig = {
      apiUrl: api.url.replace(/\/$/, ''),
      auth: 'cognito',
      region: stack.region,
      userPoolId: this.userPool.userPoolId,
      clientId: this.client.userPoolClientId,
      identityPoolId: this.identityPool.ref,
      fetchBase: '',
    };
    const distDir = props.distDir ?? join(process.cwd(), 'console', 'dist');
    const built = existsSync(join(distDir, 'index.html'));
    if (!built) {
      Annotations.of(this).addWarningV2(
        'mlops:console-not-built',
        `${distDir} has no index.html: only config.json is deployed; run \`npm run console:build\` before \`cdk deploy\``,
      );
    }
    const deployment = new s3deploy.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [
        ...(built ? [s3deploy.Source.asset(distDir, { exclude: ['config.json'] })] : []),
        s3deploy.Source.jsonData('config.json', config),
      ],
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/config.json'],
      memoryLimit: 256,
      prune: true,
    });

    new CfnOutput(this, 'Url', {
      description: 'The web console (sign in with a user of ConsoleUserPoolId)',
      value: this.url,
    }).overrideLogicalId('ConsoleUrl');
    new CfnOutput(this, 'UserPoolId', {
      description: 'Console users: create them with aws cognito-idp admin-create-user (docs/console.md)',
      value: this.userPool.userPoolId,
    }).overrideLogicalId('ConsoleUserPoolId');

    this.acknowledgeFindings(deployment);
  }

  /** cdk-nag findings that are decisions, each with its reason. */
  private acknowledgeFindings(deployment: s3deploy.BucketDeployment): void {
    const ack = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    ack(
      this.userPool,
      'AwsSolutions-COG2',
      'Console users only read (the identity role has no write route) and are created by an administrator; MFA is planned (docs/console.md).',
    );
    ack(
      this.userPool,
      'AwsSolutions-COG8',
      "Cognito's Plus plan is charged per user for threat protection the read-only console does not need; sign-up is off.",
    );
    ack(
      this.userPool,
      'AwsSolutions-COG3',
      "Threat protection needs Cognito's Plus plan (a per-user charge); sign-up is off and the identity role is read-only.",
    );
    ack(
      this.distribution,
      'AwsSolutions-CFR1',
      'The console is for the team wherever it works; sign-in, not geography, guards the data.',
    );
    ack(
      this.distribution,
      'AwsSolutions-CFR2',
      'The distribution serves static files only; every data call goes to the IAM-authorized API. A WAF ACL can be attached per account.',
    );
    ack(
      this.distribution,
      'AwsSolutions-CFR3',
      "CloudFront standard logs need ACLs on the target bucket, which the platform's buckets disable; the site bucket's server access logs record every read.",
    );
    ack(
      this.distribution,
      'AwsSolutions-CFR4',
      "The default *.cloudfront.net certificate cannot pin TLS 1.2; a custom domain's certificate can (planned).",
    );
    const stack = Stack.of(this);
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    // The deployment's function is CDK's own (aws-s3-deployment): its role and runtime are CDK's.
    const handlers = Stack.of(this).node.children.filter((c) =>
      c.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    for (const scope of [deployment, ...handlers]) {
      ack(
        scope,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK's BucketDeployment function logs with the basic execution role.",
      );
      for (const finding of [
        'Action::s3:GetObject*',
        'Action::s3:GetBucket*',
        'Action::s3:List*',
        'Action::s3:DeleteObject*',
        'Action::s3:Abort*',
        `Resource::${arnAttrInFinding(this.bucket)}/*`,
        `Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${account}-${region}/*`,
        'Resource::*',
      ]) {
        ack(
          scope,
          `AwsSolutions-IAM5[${finding}]`,
          "CDK's BucketDeployment reads its asset, replaces every object of the site bucket (prune) and invalidates the distribution (CloudFront has no per-path ARN): CDK's own grants.",
        );
      }
      ack(scope, 'AwsSolutions-L1', "CDK's BucketDeployment pins its own Python runtime.");
    }
  }
}

/** One CloudFront behavior per first segment of the API's paths, forwarded uncached to the stage. */
function apiBehaviors(
  api: PlatformApi,
  stage: string,
  headers: cloudfront.IResponseHeadersPolicy,
): Record<string, cloudfront.BehaviorOptions> {
  const stack = Stack.of(api);
  const origin = new origins.HttpOrigin(
    `${api.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`,
    {
      originPath: `/${stage}`,
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
    },
  );
  const behavior: cloudfront.BehaviorOptions = {
    origin,
    viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
    allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
    cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
    // Every header, query and body as sent, but the API's host: the one the browser signed.
    originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    responseHeadersPolicy: headers,
  };
  const patterns = new Set<string>();
  for (const route of api.routes) {
    const [first, ...rest] = route.path.split('/').filter(Boolean);
    if (!first) continue;
    if (['assets', 'index.html', 'config.json'].includes(first))
      throw new Error(
        `the API path ${route.path} collides with the console's files under /${first}: rename the route`,
      );
    patterns.add(rest.length ? `/${first}/*` : `/${first}`);
  }
  return Object.fromEntries([...patterns].sort().map((p) => [p, behavior]));
}
