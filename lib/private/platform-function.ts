import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENTRY_METADATA, HANDLER_METADATA } from './local-metadata';

/** The repository root, from which handler entries are named. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface PlatformFunctionProps {
  /** Repository-relative path of the handler module, e.g. `lambdas/tracking/handler.ts`. */
  readonly entry: string;
  /** Exported handler name. @default 'handler' */
  readonly handler?: string;
  /** Service name for logs and metrics. */
  readonly serviceName: string;
  readonly stage: string;
  readonly logRetentionDays: logs.RetentionDays;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  readonly environment?: Record<string, string>;
  /** Modules left out of the bundle because a layer provides them (native bindings). @default - none */
  readonly externalModules?: readonly string[];
  /** @deprecated installs packages at synth (needs the network); use `externalModules` with a layer. */
  readonly nodeModules?: string[];
  readonly layers?: lambda.ILayerVersion[];
}

/**
 * A Node.js function with the platform's defaults: the newest Node runtime, X-Ray
 * tracing, JSON logs in a log group with a set retention, Powertools configuration,
 * ESM bundle by esbuild (no Docker), and metadata that lets the local runtime run the
 * same handler module in-process.
 */
export class PlatformFunction extends Construct {
  readonly fn: NodejsFunction;
  /** Repository-relative path of the handler module. */
  readonly entry: string;
  /** What esbuild leaves out of the bundle (the AWS SDK, and what a layer provides). */
  readonly externalModules: readonly string[];

  constructor(scope: Construct, id: string, props: PlatformFunctionProps) {
    super(scope, id);
    this.entry = relative(REPO_ROOT, resolve(REPO_ROOT, props.entry)).split('\\').join('/');
    this.externalModules = ['@aws-sdk/*', ...(props.externalModules ?? [])];
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of AWSLambdaBasicExecutionRole: write access to this log group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName} (${props.entry})`,
    });
    logGroup.grantWrite(role);
    this.fn = new NodejsFunction(this, 'Function', {
      role,
      entry: resolve(REPO_ROOT, props.entry),
      handler: props.handler ?? 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.X86_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      layers: props.layers,
      environment: {
        STAGE: props.stage,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: 'ServerlessMlops',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // Middy and several deps are ESM-only while others still call require().
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        mainFields: ['module', 'main'],
        externalModules: [...this.externalModules],
        nodeModules: props.nodeModules,
      },
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });
    const cfn = this.fn.node.defaultChild as lambda.CfnFunction;
    cfn.addMetadata(ENTRY_METADATA, this.entry);
    cfn.addMetadata(HANDLER_METADATA, props.handler ?? 'handler');
  }
}
