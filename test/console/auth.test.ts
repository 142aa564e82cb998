import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleConfig } from '../../console/src/auth/config';
import { parseConsoleConfig } from '../../console/src/auth/config';
import { type FetchContext, SignInRequired, signedFetch } from '../../console/src/auth/fetch';
import {
  credentialState,
  isAuthFailure,
  REFRESH_MARGIN_MS,
  returnHash,
  signInHash,
} from '../../console/src/auth/session';
import type { SigningCredentials } from '../../console/src/auth/sign';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';

let rt: LocalRuntime;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-console-auth-'));
  // A runtime of its own with SigV4 checked (`mlops up --auth`): slow on a busy machine.
  rt = await startLocalRuntime({ port: 0, dataDir, inMemory: true, auth: true });
}, 600_000);

afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function key(role: string): SigningCredentials {
  const c = rt.credentials?.find((x) => x.role === role);
  if (!c) throw new Error(`no local key for ${role}`);
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
}

/** apiFetch's context with the browser replaced: the hash it moves to is recorded. */
function context(credentials: SigningCredentials | undefined, here = '#/runs/abc?sort=m') {
  const moves: string[] = [];
  let forgotten = false;
  const config: ConsoleConfig = { apiUrl: rt.url, auth: 'local-keys' };
  const ctx: FetchContext = {
    config: async () => config,
    credentials: async () => credentials,
    forget: () => {
      forgotten = true;
    },
    fetch: (input, init) => fetch(input, init),
    go: (hash) => moves.push(hash),
    here: () => here,
    origin: () => rt.url,
  };
  return { ctx, moves, forgotten: () => forgotten };
}

describe('console sign-in against the local runtime with --auth', () => {
  it("signs a GET with a local role's key and the runtime accepts it", async () => {
    const { ctx, moves } = context(key('data-scientist'));
    const res = await signedFetch(ctx, '/health');
    expect(res.status).toBe(200);
    expect(moves).toEqual([]);
  });

  it('signs a POST search with its body and query, and the runtime accepts it', async () => {
    const { ctx } = context(key('data-scientist'));
    const res = await signedFetch(ctx, '/api/2.0/mlflow/experiments/search?max_results=5', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ max_results: 5 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveProperty('experiments');
  });

  it('sends to the sign-in page, remembering the page, when there are no credentials', async () => {
    const { ctx, moves } = context(undefined);
    await expect(signedFetch(ctx, '/health')).rejects.toBeInstanceOf(SignInRequired);
    expect(moves).toEqual([`#/sign-in?return=${encodeURIComponent('/runs/abc?sort=m')}`]);
  });

  it('sends to the sign-in page and forgets the keys when the runtime refuses the signature', async () => {
    const good = key('data-scientist');
    const { ctx, moves, forgotten } = context({ ...good, secretAccessKey: `${good.secretAccessKey}x` });
    await expect(signedFetch(ctx, '/health')).rejects.toBeInstanceOf(SignInRequired);
    expect(moves).toHaveLength(1);
    expect(moves[0]).toMatch(/^#\/sign-in\?return=/);
    expect(forgotten()).toBe(true);
  });

  it('leaves a permission refusal to the page: signing in again would not change it', async () => {
    // The serving role may not read the registry: a 403 PERMISSION_DENIED, not a sign-in.
    const { ctx, moves } = context(key('serving'));
    const res = await signedFetch(ctx, '/api/2.0/mlflow/registered-models/search');
    expect(res.status).toBe(403);
    expect(moves).toEqual([]);
  });

  it('calls without signing when the config says none', async () => {
    const moves: string[] = [];
    const ctx: FetchContext = {
      config: async () => ({ apiUrl: rt.url, auth: 'none' }),
      credentials: async () => undefined,
      forget: () => undefined,
      fetch: (input, init) => fetch(input, init),
      go: (h) => moves.push(h),
      here: () => '#/',
      origin: () => rt.url,
    };
    // Unsigned, so the --auth runtime refuses it: the 'none' mode never redirects.
    const res = await signedFetch(ctx, '/health');
    expect(res.status).toBe(403);
    expect(moves).toEqual([]);
  });
});

describe('console sign-in decisions', () => {
  it('treats credentials within the refresh margin of expiry as needing a refresh', () => {
    const now = 1_000_000_000;
    const c = { accessKeyId: 'A', secretAccessKey: 'S' };
    expect(credentialState(undefined, now)).toBe('missing');
    expect(credentialState(c, now)).toBe('fresh');
    expect(credentialState({ ...c, expiration: now + REFRESH_MARGIN_MS + 1 }, now)).toBe('fresh');
    expect(credentialState({ ...c, expiration: now + REFRESH_MARGIN_MS - 1 }, now)).toBe('refresh');
    expect(credentialState({ ...c, expiration: now - 1 }, now)).toBe('refresh');
  });

  it("recognises API Gateway's missing, invalid and expired signature answers", () => {
    expect(isAuthFailure(403, { message: 'Missing Authentication Token' })).toBe(true);
    expect(isAuthFailure(403, { message: 'The security token included in the request is expired' })).toBe(
      true,
    );
    expect(isAuthFailure(403, { error_code: 'UNAUTHENTICATED', message: 'x' })).toBe(true);
    expect(isAuthFailure(401, undefined)).toBe(true);
    expect(isAuthFailure(403, { error_code: 'PERMISSION_DENIED', message: 'User is not authorized' })).toBe(
      false,
    );
    expect(isAuthFailure(404, { message: 'expired' })).toBe(false);
  });

  it('returns to the remembered page, never to the sign-in page itself', () => {
    expect(signInHash('#/models/churn')).toBe('#/sign-in?return=%2Fmodels%2Fchurn');
    expect(signInHash('#/sign-in?return=%2Fx')).toBe('#/sign-in');
    expect(returnHash(new URLSearchParams('return=/models/churn'))).toBe('#/models/churn');
    expect(returnHash(new URLSearchParams('return=https://evil.example'))).toBe('#/experiments');
    expect(returnHash(new URLSearchParams(''))).toBe('#/experiments');
  });

  it("checks config.json and names what is missing for 'cognito'", () => {
    expect(parseConsoleConfig({ apiUrl: '', auth: 'none' }).auth).toBe('none');
    expect(() => parseConsoleConfig({ apiUrl: 'x', auth: 'cognito', region: 'eu-west-1' })).toThrow(
      /needs userPoolId/,
    );
    expect(() => parseConsoleConfig({ apiUrl: 'x', auth: 'saml' })).toThrow(/auth must be/);
  });
});
