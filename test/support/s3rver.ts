import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { clientConfig } from '../../lambdas/platform/aws-clients';

export interface RunningS3rver {
  /** `http://127.0.0.1:<port>`, path-style. */
  readonly endpoint: string;
  /** An S3 client configured as the Lambdas' (awsClients) would be for this endpoint. */
  client(overrides?: Partial<S3ClientConfig>): S3Client;
  stop(): Promise<void>;
}

// s3rver checks SigV4 signatures against its one built-in key pair.
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const script = fileURLToPath(new URL('./s3rver-process.mjs', import.meta.url));

/**
 * Starts s3rver (an S3-compatible server on the filesystem) in a child node with
 * `--openssl-legacy-provider` (its ListObjectsV2 continuation tokens use DES), with the
 * given buckets created.
 *
 * @example
 * const s3 = await startS3rver(['artifacts']);
 * const store = new S3ObjectStore(s3.client());
 */
export async function startS3rver(buckets: readonly string[]): Promise<RunningS3rver> {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-s3rver-'));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '--no-deprecation', script, dir, ...buckets],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const port = await firstLine(child);
  const endpoint = `http://127.0.0.1:${port}`;
  const env = { AWS_ENDPOINT_URL_S3: endpoint, AWS_REGION: 'us-east-1' };
  return {
    endpoint,
    client: (overrides = {}) =>
      new S3Client({ ...clientConfig('s3', env), credentials: S3RVER_CREDENTIALS, ...overrides }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function firstLine(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
    child.once('error', reject);
  });
}
