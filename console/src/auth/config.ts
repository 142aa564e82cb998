/** What `config.json` next to index.html tells the console: where the API is and how to sign. */
export interface ConsoleConfig {
  /** The API's base URL, as signed (`https://<id>.execute-api.<region>.amazonaws.com/<stage>` on AWS). */
  readonly apiUrl: string;
  readonly auth: 'none' | 'local-keys' | 'cognito';
  /** Where calls are sent when not to apiUrl: '' is the console's own origin (CloudFront forwards). */
  readonly fetchBase?: string;
  /** @default 'us-east-1' (the local runtime's) */
  readonly region?: string;
  readonly userPoolId?: string;
  readonly clientId?: string;
  readonly identityPoolId?: string;
  /** A hosted-UI domain; unused: the console signs in with SRP on its own page. */
  readonly domain?: string;
}

const AUTH_MODES = new Set(['none', 'local-keys', 'cognito']);

/** Checks a parsed config.json; says which field is wrong. */
export function parseConsoleConfig(raw: unknown): ConsoleConfig {
  const c = raw as Partial<ConsoleConfig> | null;
  if (!c || typeof c !== 'object') throw new Error('config.json: expected an object');
  if (typeof c.apiUrl !== 'string') throw new Error('config.json: apiUrl must be a string');
  if (!AUTH_MODES.has(String(c.auth)))
    throw new Error("config.json: auth must be 'none', 'local-keys' or 'cognito'");
  if (c.auth === 'cognito') {
    for (const k of ['region', 'userPoolId', 'clientId', 'identityPoolId'] as const)
      if (typeof c[k] !== 'string' || !c[k]) throw new Error(`config.json: auth 'cognito' needs ${k}`);
  }
  return c as ConsoleConfig;
}

let loaded: Promise<ConsoleConfig> | undefined;

/**
 * The console's configuration, read once from `config.json` beside index.html.
 *
 * @example
 * const { apiUrl, auth } = await loadConsoleConfig();
 */
export function loadConsoleConfig(): Promise<ConsoleConfig> {
  loaded ??= fetch(
    // `document` through globalThis: node-side tests type-check this file without the DOM types.
    new URL('config.json', (globalThis as unknown as { document: { baseURI: string } }).document.baseURI),
    { cache: 'no-store' } as RequestInit,
  )
    .then(async (res) => {
      if (!res.ok) throw new Error(`config.json: ${res.status}`);
      return parseConsoleConfig(await res.json());
    })
    .catch((err) => {
      loaded = undefined;
      throw err;
    });
  return loaded;
}
