import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

/** Keys that sign API calls: a local role's, or the identity pool's temporary ones. */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When temporary credentials stop working (ms since epoch). */
  readonly expiration?: number;
}

/**
 * Signs one API call with SigV4 for `execute-api`. The signature covers the API's own URL
 * (`signedUrl`): on AWS the request is sent to the console's origin and CloudFront forwards
 * it to that host and path. Only `host`, `content-type` and `x-amz-*` are signed, headers a
 * proxy does not rewrite.
 *
 * @example
 * const headers = await signApiCall(new URL('https://api.example/prod/health'), { method: 'GET' }, creds, 'eu-west-1');
 */
export async function signApiCall(
  signedUrl: URL,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array },
  credentials: SigningCredentials,
  region: string,
  now: Date = new Date(),
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
    sha256: Sha256,
    applyChecksum: true,
  });
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of signedUrl.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const headers: Record<string, string> = { host: signedUrl.host };
  for (const [k, v] of Object.entries(init.headers ?? {})) {
    const name = k.toLowerCase();
    if (name === 'content-type' || name.startsWith('x-amz-')) headers[name] = v;
  }
  const signed = await signer.sign(
    {
      method: (init.method ?? 'GET').toUpperCase(),
      protocol: signedUrl.protocol,
      hostname: signedUrl.hostname,
      ...(signedUrl.port ? { port: Number(signedUrl.port) } : {}),
      path: decodeURIComponent(signedUrl.pathname),
      query,
      headers,
      body: init.body,
    },
    { signingDate: now },
  );
  const out: Record<string, string> = {};
  // The browser sets Host itself and refuses to be told it.
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = String(v);
  return out;
}
