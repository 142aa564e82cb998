import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The local platform API started for the whole test run. */
    apiUrl: string;
    /** dynalite's endpoint (in memory). */
    dynamodbEndpoint: string;
    /** Root of the filesystem object store (`<root>/<bucket>/<key>`). */
    s3Root: string;
  }
}

let runtime: LocalRuntime | undefined;
let dataDir: string | undefined;

/**
 * Starts the embedded engines once for the run, in this process on free ports: the
 * whole local platform (dynalite in memory, filesystem S3 in a temp dir, the gateway
 * serving the synthesized template). Suites reach them through `inject(...)` and the
 * environment, so integration tests run against real engines, not mocks.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-test-'));
  runtime = await startLocalRuntime({ port: 0, dataDir, inMemory: true });
  project.provide('apiUrl', runtime.url);
  project.provide('dynamodbEndpoint', runtime.dynamodbEndpoint);
  project.provide('s3Root', runtime.env.MLOPS_LOCAL_S3_ROOT as string);
  // Suites that build clients with awsClients() reach the same engines.
  Object.assign(process.env, runtime.env, { MLOPS_TEST_API_URL: runtime.url });
  return async () => {
    await runtime?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}
