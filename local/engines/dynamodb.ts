import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';

export interface RunningEngine {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts dynalite (the DynamoDB API on LevelDB) in this process. With a path, data
 * persists across restarts; without one it lives in memory (tests).
 *
 * @example
 * const ddb = await startDynamoDb({ path: '.mlops/dynamodb' });
 * process.env.AWS_ENDPOINT_URL_DYNAMODB = ddb.endpoint;
 */
export async function startDynamoDb(options: { path?: string; port?: number } = {}): Promise<RunningEngine> {
  if (options.path) mkdirSync(options.path, { recursive: true });
  // createTableMs etc. default to delays that mimic AWS; locally tables are ready at once.
  const server = dynalite({
    path: options.path,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Drop keep-alive sockets so close() does not wait for idle clients.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/**
 * SDK clients for a local dynalite: any region, placeholder credentials (dynalite checks
 * none), and a document client that drops undefined attributes as the Lambdas' does.
 *
 * @example
 * const { client, doc } = localDynamoClients(ddb.endpoint);
 */
export function localDynamoClients(endpoint: string): {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
} {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { client, doc };
}
