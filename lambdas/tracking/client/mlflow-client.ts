import { ArtifactClient } from './artifact-client';
import { type Connection, connect, resolveConnection } from './connection';
import { RegistryClient } from './registry-client';
import type { MlflowCall } from './rest';
import { TrackingClient } from './tracking-client';

/** The platform's MLflow API from TypeScript: tracking, registry and artifacts over one caller. */
export interface MlflowClient {
  connection: Connection;
  call: MlflowCall;
  tracking: TrackingClient;
  registry: RegistryClient;
  artifacts: ArtifactClient;
}

/**
 * Builds a client for the API at `apiUrl` (else `MLOPS_API_URL`, else the local
 * gateway), signing with SigV4 where the API needs it.
 *
 * @example
 * const { tracking, registry } = createMlflowClient({ apiUrl: 'http://127.0.0.1:4566' });
 * const runs = await tracking.searchRuns({ experimentIds: ['1'], filter: "metrics.auc > 0.8" });
 */
export function createMlflowClient(
  opts: { apiUrl?: string; env?: Record<string, string | undefined> } = {},
): MlflowClient {
  const connection = resolveConnection(opts);
  const call = connect(connection);
  return {
    connection,
    call,
    tracking: new TrackingClient(call),
    registry: new RegistryClient(call),
    artifacts: new ArtifactClient(call),
  };
}
