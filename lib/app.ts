import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type PlatformConfig, resolvePlatformConfig } from './config';
import { MlopsPlatformStack, stackName } from './platform-stack';

/**
 * CDK feature flags the platform relies on, set here so that `cdk synth`, the tests and
 * the local runtime build the same template whatever cdk.json holds.
 */
export const FEATURE_FLAGS = {
  // Grant log delivery by bucket policy, so log-target buckets keep ACLs disabled.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
} as const;

export interface BuildAppOptions {
  /** Run cdk-nag's AwsSolutions checks at synth. @default true */
  readonly nag?: boolean;
  /** Skip esbuild bundling (tests and the local runtime need only the template). @default false */
  readonly skipBundling?: boolean;
  readonly outdir?: string;
  /** Account and region to deploy to. @default CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION (env-agnostic when unset) */
  readonly env?: { account?: string; region?: string };
}

/**
 * Builds the CDK app for a configuration (or, when none is given, the context key `mlops`): `bin/app.ts` for `cdk synth/deploy`, the
 * tests, and the local runtime all call this, so they see the same template.
 */
export function buildApp(
  configInput: unknown | undefined,
  options: BuildAppOptions = {},
): {
  app: App;
  stack: MlopsPlatformStack;
  config: PlatformConfig;
} {
  const app = new App({
    outdir: options.outdir,
    context: { ...FEATURE_FLAGS, ...(options.skipBundling ? { 'aws:cdk:bundling-stacks': [] } : {}) },
  });
  // Without an explicit configuration, read the context key `mlops` (cdk.json or -c).
  const fromContext = app.node.tryGetContext('mlops');
  const config = resolvePlatformConfig(
    configInput ?? (typeof fromContext === 'string' ? JSON.parse(fromContext) : (fromContext ?? {})),
  );
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new MlopsPlatformStack(app, stackName(config.stage), {
    config,
    description: `serverless-mlops platform (${config.stage})`,
    env: options.env ?? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  return { app, stack, config };
}
