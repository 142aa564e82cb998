import { type CfnElement, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteSpec } from '../../lambdas/platform/http/route';
import { arnInFinding } from '../private/nag-findings';
import { accountOnlyApiPolicy } from './access-roles';

export interface PlatformApiProps {
  readonly stage: string;
  readonly logRetentionDays: logs.RetentionDays;
  /** Steady-state requests per second. @default 100 */
  readonly rateLimit?: number;
  /** @default 200 */
  readonly burstLimit?: number;
}

/** What other constructs may depend on: a place to add routes, and a grant to call them. */
export interface IPlatformApi {
  /** Serves each route spec by the function (API Gateway Lambda proxy integration). */
  addRoutes(fn: lambda.IFunction, specs: readonly RouteSpec[]): void;
  /** Allows a principal to call the API's routes (SigV4-signed). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
  readonly url: string;
  /** The cdk-nag IAM5 finding a `grantInvoke` policy raises (to acknowledge with a reason). */
  readonly invokeFinding: string;
  /** Every route added so far (the access roles are derived from them). */
  readonly routes: readonly RouteSpec[];
}

/** The error body API Gateway itself answers with, in the same shape as our handlers'. */
function errorTemplate(code: string): Record<string, string> {
  return {
    'application/json': `{"error_code":"${code}","message":$context.error.messageString}`,
  };
}

/**
 * The platform's one REST API. Every route uses IAM (SigV4) authorization; stage
 * access logs, execution logs, X-Ray and throttling are on; errors that API Gateway
 * answers itself (auth, throttling, size) carry the platform's error body.
 */
export class PlatformApi extends Construct implements IPlatformApi {
  readonly api: apigw.RestApi;
  private readonly integrations = new Map<string, apigw.LambdaIntegration>();
  private readonly routeSpecs: RouteSpec[] = [];

  constructor(scope: Construct, id: string, props: PlatformApiProps) {
    super(scope, id);
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const policy = accountOnlyApiPolicy();
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `mlops-${props.stage}`,
      description: 'serverless-mlops platform API (feature store, tracking, registry, serving, monitoring)',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: true,
      // The role is the account-wide logging role of API Gateway in this region: every API uses it.
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      // Every body reaches the functions base64-encoded and byte-exact, whatever its type
      // (MLflow clients send artifacts with the file's guessed type); handlers decode by
      // isBase64Encoded. Binary responses are decoded back for any Accept; JSON stays text.
      binaryMediaTypes: ['*/*'],
      minCompressionSize: undefined,
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      // Principals of this account only; each one's IAM policy says which routes (docs/security.md).
      policy,
      deployOptions: {
        stageName: props.stage,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        throttlingRateLimit: props.rateLimit ?? 100,
        throttlingBurstLimit: props.burstLimit ?? 200,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    // A resource policy takes effect only when deployed: a change must make a new deployment.
    this.api.latestDeployment?.addToLogicalId({ resourcePolicy: policy });
    const responses: [apigw.ResponseType, string, string?][] = [
      [apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, 'UNAUTHENTICATED'],
      [apigw.ResponseType.ACCESS_DENIED, 'PERMISSION_DENIED'],
      [apigw.ResponseType.UNAUTHORIZED, 'UNAUTHENTICATED'],
      [apigw.ResponseType.INVALID_SIGNATURE, 'UNAUTHENTICATED'],
      [apigw.ResponseType.EXPIRED_TOKEN, 'UNAUTHENTICATED'],
      [apigw.ResponseType.REQUEST_TOO_LARGE, 'REQUEST_TOO_LARGE'],
      [apigw.ResponseType.THROTTLED, 'REQUEST_LIMIT_EXCEEDED'],
      [apigw.ResponseType.QUOTA_EXCEEDED, 'REQUEST_LIMIT_EXCEEDED'],
      [apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, 'UNSUPPORTED_MEDIA_TYPE'],
      [apigw.ResponseType.DEFAULT_4XX, 'BAD_REQUEST'],
      [apigw.ResponseType.DEFAULT_5XX, 'INTERNAL_ERROR'],
    ];
    for (const [type, code] of responses) {
      this.api.addGatewayResponse(`Error${type.responseType}`, { type, templates: errorTemplate(code) });
    }
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason: "Each route's zod schema validates its request in the handler: the one source of the contract.",
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'The API uses IAM (SigV4) authorization on every method, as MLflow clients support; no Cognito pool.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Every method requires SigV4-signed IAM credentials and the stage is throttled; a WAF ACL can be attached per account.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's account-level CloudWatch role needs AWS's managed AmazonAPIGatewayPushToCloudWatchLogs policy.",
    });
  }

  get routes(): readonly RouteSpec[] {
    return this.routeSpecs;
  }

  get url(): string {
    return this.api.url;
  }

  get invokeFinding(): string {
    const stack = Stack.of(this);
    const api = stack.getLogicalId(this.api.node.defaultChild as CfnElement);
    const stage = stack.getLogicalId(this.api.deploymentStage.node.defaultChild as CfnElement);
    return `Resource::${arnInFinding(this, 'execute-api', `<${api}>/<${stage}>/*/*`)}`;
  }

  addRoutes(fn: lambda.IFunction, specs: readonly RouteSpec[]): void {
    let integration = this.integrations.get(fn.node.addr);
    if (!integration) {
      // One permission for the whole API per function, not one per method: the
      // function's resource policy has a 20 KB limit and MLflow alone has ~50 routes.
      integration = new apigw.LambdaIntegration(fn, { proxy: true, scopePermissionToMethod: false });
      this.integrations.set(fn.node.addr, integration);
    }
    for (const spec of specs) {
      this.routeSpecs.push(spec);
      this.api.root.resourceForPath(spec.path).addMethod(spec.method, integration, {
        operationName: spec.summary,
      });
    }
  }

  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.api.arnForExecuteApi('*', '/*', this.api.deploymentStage.stageName)],
    });
  }
}
