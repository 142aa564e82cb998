#!/usr/bin/env node
// Entry of the `mlops` command. It registers tsx so the TypeScript CLI runs straight
// from the sources, with no build step between a change and its use.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.CDK_DISABLE_CLI_TELEMETRY ??= 'true';
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv);
