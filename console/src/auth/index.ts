import { loadConsoleConfig } from './config';
import { type FetchContext, signedFetch } from './fetch';
import { clearCredentials, credentialState, readCredentials, writeCredentials } from './session';
import type { SigningCredentials } from './sign';

export { type ConsoleConfig, loadConsoleConfig } from './config';
export { SignInRequired } from './fetch';
export { SignInPage } from './sign-in-page';

/** The tab's credentials, renewed through Cognito shortly before they expire. */
async function currentCredentials(): Promise<SigningCredentials | undefined> {
  const stored = readCredentials(sessionStorage);
  const state = credentialState(stored, Date.now());
  if (state === 'fresh') return stored;
  if (state === 'missing') return undefined;
  const config = await loadConsoleConfig();
  // The Cognito code (and its SDK) loads only on AWS, where config.json says 'cognito'.
  const cognito = config.auth === 'cognito' ? await import('./cognito') : undefined;
  const renewed = cognito?.isCognitoConfig(config)
    ? await cognito.refreshCognitoCredentials(config)
    : undefined;
  if (renewed) writeCredentials(sessionStorage, renewed);
  return renewed;
}

const browser: FetchContext = {
  config: loadConsoleConfig,
  credentials: currentCredentials,
  forget: () => {
    clearCredentials(sessionStorage);
    void loadConsoleConfig().then(
      async (c) => {
        if (c.auth !== 'cognito') return;
        const cognito = await import('./cognito');
        if (cognito.isCognitoConfig(c)) cognito.signOutCognito(c);
      },
      () => undefined,
    );
  },
  fetch: (input, init) => fetch(input, init),
  go: (hash) => {
    location.hash = hash.replace(/^#/, '');
  },
  here: () => location.hash,
  origin: () => location.origin,
};

/**
 * Fetches an API path, signed with the signed-in user's credentials (or plain with auth
 * 'none'). With missing or expired credentials it moves to `#/sign-in` and rejects with
 * SignInRequired.
 *
 * @example
 * const res = await apiFetch('/api/2.0/mlflow/experiments/search', { method: 'POST', body: '{}' });
 */
export function apiFetch(path: string, init?: RequestInit): Promise<Response> {
  return signedFetch(browser, path, init);
}
