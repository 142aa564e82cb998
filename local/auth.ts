import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { ACCESS_ROLE_METADATA, iamPatternMatches } from '../lambdas/platform/access/roles';
import type { CfnTemplate } from './template';

/** The account local principals belong to (as in the proxy events the gateway builds). */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** API Gateway refuses signatures dated further than this from its clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * An access role as the synthesized template defines it: its `execute-api:Invoke`
 * statements reduced to `METHOD/path` patterns (the part of the ARN after the stage).
 */
export interface LocalPrincipal {
  /** Its name in ACCESS_ROLES (`data-scientist`). */
  readonly name: string;
  readonly logicalId: string;
  /** The session ARN requests signed with its key act as. */
  readonly arn: string;
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

type Resources = CfnTemplate['Resources'];

/**
 * Reads the access roles of a template (resources with `mlops:access-role` metadata)
 * and their inline and attached policies, so local authorization is what IAM would do
 * with the policies `cdk deploy` creates.
 *
 * @example
 * readAccessPrincipals(template).map((p) => p.name) // ['data-scientist', 'deployer', 'serving']
 */
export function readAccessPrincipals(template: CfnTemplate): LocalPrincipal[] {
  const out: LocalPrincipal[] = [];
  for (const [id, r] of Object.entries(template.Resources ?? {})) {
    const name = r.Type === 'AWS::IAM::Role' ? r.Metadata?.[ACCESS_ROLE_METADATA] : undefined;
    if (typeof name === 'string') out.push(principalOf(template.Resources, id, name));
  }
  return out;
}

/** A role's principal: the `execute-api:Invoke` statements of its inline and attached policies. */
function principalOf(resources: Resources, id: string, name: string): LocalPrincipal {
  const documents: unknown[] = (resources[id]?.Properties?.Policies ?? []).map(
    (p: { PolicyDocument: unknown }) => p.PolicyDocument,
  );
  for (const other of Object.values(resources)) {
    const roles = other.Type === 'AWS::IAM::Policy' ? other.Properties?.Roles : undefined;
    if (Array.isArray(roles) && roles.some((x) => x?.Ref === id))
      documents.push(other.Properties?.PolicyDocument);
  }
  const allow: string[] = [];
  const deny: string[] = [];
  for (const doc of documents) {
    for (const st of asList((doc as { Statement?: unknown })?.Statement)) {
      const s = st as { Effect?: string; Action?: unknown; Resource?: unknown; Condition?: unknown };
      const invokes = asList(s.Action).some((a) =>
        iamPatternMatches(String(a).toLowerCase(), 'execute-api:invoke'),
      );
      // A conditional statement cannot be judged here; an Allow with one is not granted.
      if (!invokes || (s.Condition && s.Effect === 'Allow')) continue;
      const patterns = asList(s.Resource)
        .map(invokePattern)
        .filter((p): p is string => p !== undefined);
      (s.Effect === 'Deny' ? deny : allow).push(...patterns);
    }
  }
  return {
    name,
    logicalId: id,
    arn: `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${id}/local`,
    allow,
    deny,
  };
}

function asList(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** `arn:...:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>` → `<METHOD>/<path>`. */
function invokePattern(resource: unknown): string | undefined {
  const text = render(resource);
  if (text === '*') return '*';
  const m = /^arn:[^:]*:execute-api:[^:]*:[^:]*:[^/]+\/[^/]+\/(.+)$/.exec(text);
  return m?.[1];
}

/** A template value as text: Fn::Join joined, references as `<Ref>` (the partition, API, stage...). */
function render(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const join = (v as Record<string, unknown>)['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) return join[1].map(render).join(String(join[0]));
    // Without colons: `AWS::Region` must not split the ARN's fields.
    if ('Ref' in v) return `<${String((v as { Ref: unknown }).Ref).replaceAll(':', '')}>`;
  }
  return '<?>';
}

/**
 * Keys for the template's functions that call the platform API (`MLOPS_API_URL`), as
 * their execution roles: locally they sign with these (`MLOPS_API_SIGV4`) and are
 * authorized by their roles' policies, as on AWS. Made per run, never stored.
 */
export function functionCallers(
  template: CfnTemplate,
  functionIds: Iterable<string>,
): {
  principals: LocalPrincipal[];
  credentials: LocalCredential[];
  env: Map<string, Record<string, string>>;
} {
  const resources = template.Resources ?? {};
  const byRole = new Map<string, { principal: LocalPrincipal; credential: LocalCredential }>();
  const env = new Map<string, Record<string, string>>();
  for (const fnId of functionIds) {
    const role = resources[fnId]?.Properties?.Role?.['Fn::GetAtt']?.[0];
    if (typeof role !== 'string' || resources[role]?.Type !== 'AWS::IAM::Role') continue;
    let entry = byRole.get(role);
    if (!entry) {
      const principal = principalOf(resources, role, `function:${role}`);
      entry = { principal, credential: newCredential(principal) };
      byRole.set(role, entry);
    }
    env.set(fnId, {
      MLOPS_API_SIGV4: 'true',
      AWS_ACCESS_KEY_ID: entry.credential.accessKeyId,
      AWS_SECRET_ACCESS_KEY: entry.credential.secretAccessKey,
    });
  }
  const entries = [...byRole.values()];
  return { principals: entries.map((e) => e.principal), credentials: entries.map((e) => e.credential), env };
}

function newCredential(p: LocalPrincipal): LocalCredential {
  return {
    role: p.name,
    roleArn: p.arn,
    // Shaped like AWS keys: 20 uppercase characters, a 40-character secret.
    accessKeyId: `AKIALOCAL${randomBytes(16).toString('hex').toUpperCase().slice(0, 11)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  };
}

/** One local key pair per access role, kept under the data dir so it survives restarts. */
export interface LocalCredential {
  readonly role: string;
  readonly roleArn: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * Reads the key pairs in `file` and creates one for each role that has none (the file is
 * written readable by its owner only).
 *
 * @example
 * const creds = ensureLocalCredentials('.mlops/credentials.json', readAccessPrincipals(template));
 */
export function ensureLocalCredentials(
  file: string,
  principals: readonly LocalPrincipal[],
): LocalCredential[] {
  let stored: Record<string, Partial<LocalCredential>> = {};
  if (existsSync(file)) {
    try {
      stored = (JSON.parse(readFileSync(file, 'utf8')) as { roles?: typeof stored }).roles ?? {};
    } catch (err) {
      throw new Error(`${file} is not valid JSON (${(err as Error).message}): delete it to make new keys`);
    }
  }
  let changed = !existsSync(file);
  const creds = principals.map((p): LocalCredential => {
    const s = stored[p.name];
    if (s?.accessKeyId && s.secretAccessKey && s.roleArn === p.arn) {
      return { role: p.name, roleArn: p.arn, accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey };
    }
    changed = true;
    return newCredential(p);
  });
  if (changed) {
    const body = {
      note: "Local keys of the platform's access roles (mlops up --auth); see docs/security.md",
      roles: Object.fromEntries(creds.map((c) => [c.role, c])),
    };
    writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return creds;
}

/** A refusal as API Gateway answers it: the gateway response type picks the error code. */
export interface AuthRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** API Gateway's `x-amzn-ErrorType`. */
  readonly errorType: string;
}

export interface AuthRequest {
  readonly method: string;
  /** Path as received, still percent-encoded. */
  readonly path: string;
  /** Query string without `?`. */
  readonly query: string;
  readonly rawHeaders: readonly string[];
  readonly body: Uint8Array;
}

export type AuthDecision = { readonly principal: LocalPrincipal } | { readonly refused: AuthRefusal };

export interface AuthorizerOptions {
  readonly template: CfnTemplate;
  readonly principals: readonly LocalPrincipal[];
  readonly credentials: readonly LocalCredential[];
  readonly stage: string;
  /** @default 'us-east-1' (named in access-denied messages only: any signing region is accepted) */
  readonly region?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The local gateway's IAM authorization: verifies the request's SigV4 signature against
 * the local keys (date skew, signed headers, body hash), then allows it when the key's
 * role has an `execute-api:Invoke` statement for its method and path, as API Gateway does.
 *
 * @example
 * const authorize = createAuthorizer({ template, principals, credentials, stage: 'local' });
 * const decision = await authorize({ method: 'GET', path: '/health', query: '', rawHeaders, body });
 */
export function createAuthorizer(options: AuthorizerOptions): (req: AuthRequest) => Promise<AuthDecision> {
  const codes = gatewayErrorCodes(options.template);
  const refuse = (type: string, errorType: string, message: string): AuthDecision => ({
    refused: {
      status: 403,
      code: codes.get(type) ?? codes.get('DEFAULT_4XX') ?? 'BAD_REQUEST',
      message,
      errorType,
    },
  });
  const invalid = (message: string) => refuse('INVALID_SIGNATURE', 'InvalidSignatureException', message);
  const mismatch = () =>
    invalid(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  const byKey = new Map(options.credentials.map((c) => [c.accessKeyId, c]));
  const byName = new Map(options.principals.map((p) => [p.name, p]));
  const now = options.now ?? Date.now;
  const region = options.region ?? 'us-east-1';

  return async (req) => {
    const headers = new Map<string, string[]>();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = String(req.rawHeaders[i]).toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), String(req.rawHeaders[i + 1])]);
    }
    const authorization = headers.get('authorization')?.join(',');
    if (!authorization)
      return refuse(
        'MISSING_AUTHENTICATION_TOKEN',
        'MissingAuthenticationTokenException',
        'Missing Authentication Token',
      );
    const parsed = parseAuthorization(authorization);
    if (typeof parsed === 'string')
      return refuse('INVALID_SIGNATURE', 'IncompleteSignatureException', parsed);
    const [keyId, scopeDate, signingRegion, service, terminator] = parsed.credential.split('/');
    if (service !== 'execute-api' || terminator !== 'aws4_request' || !signingRegion)
      return invalid("Credential should be scoped to correct service: 'execute-api'.");
    const cred = byKey.get(keyId ?? '');
    const principal = cred && byName.get(cred.role);
    if (!cred || !principal)
      return refuse(
        'INVALID_SIGNATURE',
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );

    const amzDate = headers.get('x-amz-date')?.[0];
    const signedAt = amzDate ? parseAmzDate(amzDate) : undefined;
    if (!amzDate || signedAt === undefined)
      return refuse(
        'INVALID_SIGNATURE',
        'IncompleteSignatureException',
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
      );
    const clock = now();
    if (signedAt < clock - MAX_CLOCK_SKEW_MS)
      return invalid(
        `Signature expired: ${amzDate} is now earlier than ${amzFormat(clock - MAX_CLOCK_SKEW_MS)} (${amzFormat(clock)} - 5 min.)`,
      );
    if (signedAt > clock + MAX_CLOCK_SKEW_MS)
      return invalid(
        `Signature not yet current: ${amzDate} is still later than ${amzFormat(clock + MAX_CLOCK_SKEW_MS)} (${amzFormat(clock)} + 5 min.)`,
      );
    if (scopeDate !== amzDate.slice(0, 8))
      return invalid(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
      );
    if (!parsed.signedHeaders.includes('host') || parsed.signedHeaders.some((h) => !headers.has(h)))
      return mismatch();
    // A body hash the client declares must be the body's: the signature covers the declared one.
    const declaredHash = headers.get('x-amz-content-sha256')?.[0];
    if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(req.body).digest('hex'))
      return mismatch();

    const signer = new SignatureV4({
      service,
      region: signingRegion,
      credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey },
      sha256: Hash.bind(null, 'sha256'),
      applyChecksum: false,
    });
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(req.query)) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const signedHeaders = Object.fromEntries(
      parsed.signedHeaders.map((h) => [h, (headers.get(h) ?? []).join(',')]),
    );
    const expected = await signer.sign(
      {
        method: req.method,
        protocol: 'http:',
        hostname: 'localhost',
        path: req.path,
        query,
        headers: signedHeaders,
        body: req.body,
      },
      { signingDate: new Date(signedAt), signableHeaders: new Set(parsed.signedHeaders) },
    );
    const want = /Signature=([0-9a-f]+)/.exec(String(expected.headers.authorization))?.[1] ?? '';
    if (
      want.length !== parsed.signature.length ||
      !timingSafeEqual(Buffer.from(want), Buffer.from(parsed.signature))
    )
      return mismatch();

    const resource = `${req.method.toUpperCase()}${req.path}`;
    const denied = (explicit: boolean) =>
      refuse(
        'ACCESS_DENIED',
        'AccessDeniedException',
        `User: ${principal.arn} is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:${region}:${LOCAL_ACCOUNT_ID}:local/${options.stage}/${resource}${explicit ? ' with an explicit deny' : ''}`,
      );
    if (principal.deny.some((p) => iamPatternMatches(p, resource))) return denied(true);
    if (!principal.allow.some((p) => iamPatternMatches(p, resource))) return denied(false);
    return { principal };
  };
}

/** The `Credential`, `SignedHeaders` and `Signature` of an AWS4-HMAC-SHA256 header, or what is missing. */
function parseAuthorization(
  header: string,
): { credential: string; signedHeaders: string[]; signature: string } | string {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(header.trim());
  if (!m)
    return `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=${header.split(' ')[0]}`;
  const params = new Map<string, string>();
  for (const part of (m[1] as string).split(',')) {
    const at = part.indexOf('=');
    if (at > 0) params.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((k) => !params.get(k));
  if (missing.length) return missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ');
  return {
    credential: params.get('Credential') as string,
    signedHeaders: (params.get('SignedHeaders') as string).split(';').map((h) => h.trim().toLowerCase()),
    signature: (params.get('Signature') as string).toLowerCase(),
  };
}

/** `20240131T235959Z` → epoch ms. */
function parseAmzDate(v: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const t = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  return Number.isNaN(t) ? undefined : t;
}

function amzFormat(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * The error code of each gateway response type in the template (`{"error_code":"X",...}`),
 * so local refusals carry the codes the deployed API answers with.
 */
export function gatewayErrorCodes(template: CfnTemplate): Map<string, string> {
  const codes = new Map<string, string>();
  for (const r of Object.values(template.Resources ?? {})) {
    if (r.Type !== 'AWS::ApiGateway::GatewayResponse') continue;
    const body = String(r.Properties?.ResponseTemplates?.['application/json'] ?? '');
    const code = /"error_code":"([A-Z_]+)"/.exec(body)?.[1];
    if (code && r.Properties?.ResponseType) codes.set(String(r.Properties.ResponseType), code);
  }
  return codes;
}
