import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMlflowClient } from '../../lambdas/tracking/client/mlflow-client';
import { ensureLocalCredentials, type LocalCredential, type LocalPrincipal } from '../../local/auth';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';

let rt: LocalRuntime;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-auth-'));
  rt = await startLocalRuntime({ port: 0, dataDir, inMemory: true, auth: true });
  // A second runtime (synth and function start) beside the global one: slow on a busy machine.
}, 300_000);

afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function keyOf(role: string): LocalCredential {
  const c = rt.credentials?.find((x) => x.role === role);
  if (!c) throw new Error(`no local key for ${role}`);
  return c;
}

interface Call {
  method: string;
  path: string;
  body?: string;
  /** Sign with these instead of the role's key. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  signingDate?: Date;
  /** Changes the body after signing. */
  bodySent?: string;
}

/** Signs as our client does (lambdas/platform/sigv4.ts), with a given key, and sends. */
async function call(role: string, c: Call): Promise<Response> {
  const url = new URL(c.path, rt.url);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    credentials: c.credentials ?? keyOf(role),
    sha256: Hash.bind(null, 'sha256'),
  });
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const headers: Record<string, string> = { host: url.host };
  if (c.body !== undefined) headers['content-type'] = 'application/json';
  const signed = await signer.sign(
    {
      method: c.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers,
      body: c.body,
    },
    { signingDate: c.signingDate },
  );
  const { host: _, ...sent } = signed.headers as Record<string, string>;
  return fetch(url, { method: c.method, headers: sent, body: c.bodySent ?? c.body });
}

const create = (name: string) => ({
  method: 'POST',
  path: '/api/2.0/mlflow/experiments/create',
  body: JSON.stringify({ name }),
});

describe('mlops up --auth: the local gateway authorizes as IAM would', () => {
  it('refuses an unsigned request with 403 UNAUTHENTICATED, as API Gateway answers a missing token', async () => {
    const res = await fetch(`${rt.url}/health`);
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await res.json()).toEqual({
      error_code: 'UNAUTHENTICATED',
      message: 'Missing Authentication Token',
    });
  });

  it('lets a role call its routes: the data scientist creates an experiment and reads it back by name', async () => {
    const res = await call('data-scientist', create('auth-ds'));
    expect(res.status).toBe(200);
    const { experiment_id } = (await res.json()) as { experiment_id: string };
    const got = await call('data-scientist', {
      method: 'GET',
      path: '/api/2.0/mlflow/experiments/get-by-name?experiment_name=auth-ds',
    });
    expect(got.status).toBe(200);
    expect(((await got.json()) as { experiment: { experiment_id: string } }).experiment.experiment_id).toBe(
      experiment_id,
    );
  });

  it('refuses a role the route is not granted to with 403 PERMISSION_DENIED, and writes nothing', async () => {
    const res = await call('deployer', create('auth-by-deployer'));
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
    const body = (await res.json()) as { error_code: string; message: string };
    expect(body.error_code).toBe('PERMISSION_DENIED');
    expect(body.message).toMatch(
      /^User: arn:aws:sts::000000000000:assumed-role\/\w+\/local is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:local\/local\/POST\/api\/2\.0\/mlflow\/experiments\/create$/,
    );
    const lookup = await call('data-scientist', {
      method: 'GET',
      path: '/api/2.0/mlflow/experiments/get-by-name?experiment_name=auth-by-deployer',
    });
    expect(lookup.status).toBe(404);
  });

  it('separates registry writes: the deployer registers a model, the data scientist may not', async () => {
    const register = {
      method: 'POST',
      path: '/api/2.0/mlflow/registered-models/create',
      body: '{"name":"auth-model"}',
    };
    expect((await call('data-scientist', register)).status).toBe(403);
    expect((await call('deployer', register)).status).toBe(200);
    // Both read the registry.
    const get = { method: 'GET', path: '/api/2.0/mlflow/registered-models/get?name=auth-model' };
    expect((await call('data-scientist', get)).status).toBe(200);
    const read = await call('deployer', get);
    expect(read.status).toBe(200);
    // The function sees the signer as the caller: the registry records who registered it.
    const model = ((await read.json()) as { registered_model: { user_id: string } }).registered_model;
    expect(model.user_id).toBe(keyOf('deployer').roleArn);
  });

  it('lets the serving role call nothing but predictions', async () => {
    for (const c of [
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/api/2.0/mlflow/registered-models/get?name=auth-model' },
      create('auth-by-serving'),
      { method: 'POST', path: '/features/get-online-features', body: '{}' },
    ]) {
      const res = await call('serving', c);
      expect(res.status, `${c.method} ${c.path}`).toBe(403);
      expect(((await res.json()) as { error_code: string }).error_code).toBe('PERMISSION_DENIED');
    }
    // A prediction route passes authorization (what the function answers is serving's business).
    const predict = await call('serving', { method: 'POST', path: '/v1/models/none/predict', body: '{}' });
    expect(predict.status).not.toBe(403);
  });

  it('authorizes a greedy path by its pattern: artifacts under any run path', async () => {
    const res = await call('data-scientist', {
      method: 'GET',
      path: '/api/2.0/mlflow-artifacts/artifacts/0/no-such-run/artifacts/a%20b.txt',
    });
    expect(res.status).not.toBe(403);
    const denied = await call('serving', {
      method: 'GET',
      path: '/api/2.0/mlflow-artifacts/artifacts/0/no-such-run/artifacts/a%20b.txt',
    });
    expect(denied.status).toBe(403);
  });

  it('refuses a signature made with the wrong secret, with API Gateway’s message', async () => {
    const res = await call('data-scientist', {
      ...create('auth-wrong-secret'),
      credentials: { accessKeyId: keyOf('data-scientist').accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(await res.json()).toEqual({
      error_code: 'UNAUTHENTICATED',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    });
  });

  it('refuses a body changed after signing (the body hash is checked)', async () => {
    const res = await call('data-scientist', {
      ...create('auth-signed'),
      bodySent: JSON.stringify({ name: 'auth-swapped' }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /^The request signature we calculated/,
    );
    const lookup = await call('data-scientist', {
      method: 'GET',
      path: '/api/2.0/mlflow/experiments/get-by-name?experiment_name=auth-swapped',
    });
    expect(lookup.status).toBe(404);
  });

  it('refuses a signature older than 5 minutes, and an unknown key', async () => {
    const old = await call('data-scientist', {
      ...create('auth-old'),
      signingDate: new Date(Date.now() - 6 * 60 * 1000),
    });
    expect(old.status).toBe(403);
    expect(((await old.json()) as { message: string }).message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than/,
    );
    const unknown = await call('data-scientist', {
      ...create('auth-unknown'),
      credentials: { accessKeyId: 'AKIANOSUCHKEY0000000', secretAccessKey: 'x' },
    });
    expect(unknown.status).toBe(403);
    expect(await unknown.json()).toEqual({
      error_code: 'UNAUTHENTICATED',
      message: 'The security token included in the request is invalid.',
    });
  });

  it("accepts our own MLflow client's signature (MLOPS_API_SIGV4 with the role's key)", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    const key = keyOf('data-scientist');
    process.env.AWS_ACCESS_KEY_ID = key.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = key.secretAccessKey;
    try {
      const client = createMlflowClient({
        apiUrl: rt.url,
        env: { MLOPS_API_SIGV4: 'true', AWS_REGION: 'eu-west-1' },
      });
      const id = await client.tracking.createExperiment('auth-client');
      expect((await client.tracking.getExperiment(id)).name).toBe('auth-client');
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  it('lets a pipeline step call the API signed as its own execution role', async () => {
    const exp = await call('data-scientist', create('auth-pipeline'));
    const { experiment_id } = (await exp.json()) as { experiment_id: string };
    const created = await call('data-scientist', {
      method: 'POST',
      path: '/api/2.0/mlflow/runs/create',
      body: JSON.stringify({ experiment_id }),
    });
    const runId = ((await created.json()) as { run: { info: { run_id: string } } }).run.info.run_id;
    const markFailed = [...rt.plan.functions.values()].find((f) => f.handler === 'markFailed');
    expect(markFailed).toBeDefined();
    await rt.host.invoke(markFailed?.logicalId as string, {
      state: { run: { runId, experimentId: experiment_id }, error: { Error: 'Boom', Cause: 'auth test' } },
      execution: { id: 'arn:aws:states:us-east-1:000000000000:execution:p:auth', name: 'auth' },
    });
    const got = await call('data-scientist', {
      method: 'GET',
      path: `/api/2.0/mlflow/runs/get?run_id=${runId}`,
    });
    const run = (
      (await got.json()) as {
        run: { info: { status: string }; data: { tags?: { key: string; value: string }[] } };
      }
    ).run;
    expect(run.info.status).toBe('FAILED');
    expect(run.data.tags).toContainEqual({ key: 'mlops.failure.error', value: 'Boom' });
  });

  it('keeps one key pair per role in <dataDir>/credentials.json, readable by its owner only', () => {
    const file = join(dataDir, 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')).roles;
    expect(Object.keys(stored).sort()).toEqual(['data-scientist', 'deployer', 'serving']);
    expect(stored['data-scientist'].accessKeyId).toBe(keyOf('data-scientist').accessKeyId);
  });
});

describe('local credentials', () => {
  it('are reused across restarts and made for a role that has none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-creds-'));
    try {
      const file = join(dir, 'credentials.json');
      const p = (name: string): LocalPrincipal => ({
        name,
        logicalId: name,
        arn: `arn:aws:sts::000000000000:assumed-role/${name}/local`,
        allow: [],
        deny: [],
      });
      const first = ensureLocalCredentials(file, [p('a')]);
      const second = ensureLocalCredentials(file, [p('a'), p('b')]);
      expect(second[0]).toEqual(first[0]);
      expect(second[1]?.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
      expect(second[1]?.accessKeyId).not.toBe(first[0]?.accessKeyId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('without --auth', () => {
  it('the local gateway answers unsigned requests as before', async () => {
    const res = await fetch(`${inject('apiUrl')}/health`);
    expect(res.status).toBe(200);
  });
});
