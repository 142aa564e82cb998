import { useEffect, useState } from 'preact/hooks';
import type { NewPasswordRequired } from './cognito';
import { type ConsoleConfig, loadConsoleConfig } from './config';
import { returnHash, writeCredentials } from './session';
import type { SigningCredentials } from './sign';

function done(creds: SigningCredentials): void {
  writeCredentials(sessionStorage, creds);
  const query = new URLSearchParams(location.hash.split('?')[1] ?? '');
  location.hash = returnHash(query).slice(1);
}

/**
 * `#/sign-in`: a local role's access key (`mlops up --auth`, keys in .mlops/credentials.json),
 * or a Cognito user's email and password (on AWS).
 */
export function SignInPage() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [challenge, setChallenge] = useState<NewPasswordRequired>();
  useEffect(() => {
    loadConsoleConfig().then(setConfig, (e: Error) => setError(e.message));
  }, []);

  const submit = (work: () => Promise<SigningCredentials>) => async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      done(await work());
    } catch (err) {
      if ((err as Error).name === 'NewPasswordRequired') setChallenge(err as NewPasswordRequired);
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const field = (form: EventTarget | null, name: string) =>
    ((form as HTMLFormElement).elements.namedItem(name) as HTMLInputElement).value.trim();

  if (!config)
    return <section class="sign-in">{error ? <p class="error">{error}</p> : <p>Loading…</p>}</section>;
  if (config.auth === 'none') return <p>This console calls the API without signing in.</p>;
  return (
    <section class="sign-in">
      <h2>Sign in</h2>
      {config.auth === 'local-keys' ? (
        <form
          onSubmit={(e) =>
            submit(async () => ({
              accessKeyId: field(e.currentTarget, 'accessKeyId'),
              secretAccessKey: field(e.currentTarget, 'secretAccessKey'),
            }))(e)
          }
        >
          <p>
            Use a role's key pair from <code>.mlops/credentials.json</code> (written by{' '}
            <code>mlops up --auth</code>).
          </p>
          <label>
            Access key id <input name="accessKeyId" autocomplete="username" required />
          </label>
          <label>
            Secret access key{' '}
            <input name="secretAccessKey" type="password" autocomplete="current-password" required />
          </label>
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </form>
      ) : challenge ? (
        <form onSubmit={(e) => submit(() => challenge.complete(field(e.currentTarget, 'newPassword')))(e)}>
          <p>{challenge.message}</p>
          <label>
            New password <input name="newPassword" type="password" autocomplete="new-password" required />
          </label>
          <button type="submit" disabled={busy}>
            Set password
          </button>
        </form>
      ) : (
        <form
          onSubmit={(e) => {
            const email = field(e.currentTarget, 'email');
            const password = field(e.currentTarget, 'password');
            return submit(async () => {
              // Loaded on demand: the local console never downloads the Cognito SDK.
              const cognito = await import('./cognito');
              if (!cognito.isCognitoConfig(config)) throw new Error('config.json lacks the Cognito settings');
              return cognito.signInWithPassword(config, email, password);
            })(e);
          }}
        >
          <label>
            Email <input name="email" type="email" autocomplete="username" required />
          </label>
          <label>
            Password <input name="password" type="password" autocomplete="current-password" required />
          </label>
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </form>
      )}
      {error && <p class="error">{error}</p>}
    </section>
  );
}
