import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * Signs requests to the platform's API (IAM authorization) with the caller's AWS
 * credentials, as `MLFLOW_TRACKING_AWS_SIGV4=true` makes MLflow's own client do.
 *
 * @example
 * const sign = sigv4Signer('us-east-1');
 * const headers = await sign({ method: 'GET', url, headers: {} });
 */
export function sigv4Signer(region: string, service = 'execute-api') {
  const signer = new SignatureV4({
    service,
    region,
    credentials: defaultProvider(),
    sha256: Hash.bind(null, 'sha256'),
  });
  return async (req: {
    method: string;
    url: URL;
    headers: Record<string, string>;
    body?: Uint8Array | string;
  }): Promise<Record<string, string>> => {
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of req.url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const signed = await signer.sign({
      method: req.method,
      protocol: req.url.protocol,
      hostname: req.url.hostname,
      port: req.url.port ? Number(req.url.port) : undefined,
      path: req.url.pathname,
      query,
      headers: { ...req.headers, host: req.url.host },
      body: req.body,
    });
    return signed.headers as Record<string, string>;
  };
}
