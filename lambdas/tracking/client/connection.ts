import { InvalidParameterError, MlopsError } from '../../platform/errors';
import { sigv4Signer } from '../../platform/sigv4';
import { type MlflowCall, mlflowCaller } from './rest';

/** The local platform's gateway (`mlops start`). */
export const DEFAULT_API_URL = 'http://127.0.0.1:4566';

/** Where the client sends requests and whether it signs them. */
export interface Connection {
  url: string;
  /** AWS region to sign for; undefined when requests go unsigned. */
  signRegion?: string;
}

const EXECUTE_API = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;

/**
 * Resolves the API's URL (`apiUrl`, else `MLOPS_API_URL`, else the local gateway) and
 * signing: SigV4 when `MLOPS_API_SIGV4=true` or the host is an API Gateway `execute-api`
 * host (whose IAM auth needs it); `MLOPS_API_SIGV4=false` turns it off. The region comes
 * from the host, else `AWS_REGION`/`AWS_DEFAULT_REGION`.
 *
 * @example
 * resolveConnection({ env: { MLOPS_API_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod' } });
 * // { url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod', signRegion: 'eu-west-1' }
 */
export function resolveConnection(opts: { apiUrl?: string; env?: Record<string, string | undefined> }) {
  const env = opts.env ?? process.env;
  const source = opts.apiUrl ? '--api-url' : env.MLOPS_API_URL ? 'MLOPS_API_URL' : undefined;
  const raw = opts.apiUrl || env.MLOPS_API_URL || DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidParameterError(
      `${source ?? 'the API URL'} '${raw}' is not a URL: give one like http://127.0.0.1:4566 or https://<id>.execute-api.<region>.amazonaws.com/<stage>`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidParameterError(
      `${source ?? 'the API URL'} '${raw}' must start with http:// or https://`,
    );
  const host = EXECUTE_API.exec(url.hostname);
  const flag = env.MLOPS_API_SIGV4?.trim().toLowerCase();
  const sign = flag === 'false' || flag === '0' ? false : flag === 'true' || flag === '1' || host !== null;
  const region = host?.[1] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const connection: Connection = { url: raw.replace(/\/+$/, '') };
  if (sign) connection.signRegion = region;
  return connection;
}

/**
 * An MLflow REST caller for a connection. Failures to reach the API or to find AWS
 * credentials become typed errors that say what to do, so the CLI prints one line
 * instead of a stack.
 *
 * @example
 * const call = connect(resolveConnection({}));
 * await call('GET', 'experiments/get', { experiment_id: '0' });
 */
export function connect(connection: Connection): MlflowCall {
  const call = mlflowCaller(
    connection.url,
    connection.signRegion ? sigv4Signer(connection.signRegion) : undefined,
  );
  return async (method, path, body) => {
    try {
      return await call(method, path, body);
    } catch (err) {
      if (err instanceof MlopsError) throw err;
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'CredentialsProviderError')
        throw new MlopsError(
          'UNAUTHENTICATED',
          `no AWS credentials to sign requests to ${connection.url} (${e.message}): configure a profile or set MLOPS_API_SIGV4=false for an unsigned endpoint`,
        );
      if (e.name === 'TypeError' && e.message === 'fetch failed')
        throw new MlopsError(
          'TEMPORARILY_UNAVAILABLE',
          `cannot reach the API at ${connection.url} (${e.cause?.code ?? e.cause?.message ?? e.message}): start the local platform with \`mlops start\`, or pass --api-url / set MLOPS_API_URL`,
        );
      throw err;
    }
  };
}
