import './global-shim';
import {
  CognitoIdentityClient,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
} from '@aws-sdk/client-cognito-identity';
import {
  AuthenticationDetails,
  CognitoUser,
  CognitoUserPool,
  type CognitoUserSession,
} from 'amazon-cognito-identity-js';
import type { ConsoleConfig } from './config';
import type { SigningCredentials } from './sign';

type CognitoConfig = ConsoleConfig & {
  region: string;
  userPoolId: string;
  clientId: string;
  identityPoolId: string;
};

/** The user pool's tokens (and refresh token) stay in this tab's session storage. */
function pool(config: CognitoConfig): CognitoUserPool {
  return new CognitoUserPool({
    UserPoolId: config.userPoolId,
    ClientId: config.clientId,
    Storage: sessionStorage,
  });
}

/** Exchanges the user pool's ID token for the identity pool's temporary credentials. */
async function identityCredentials(config: CognitoConfig, idToken: string): Promise<SigningCredentials> {
  const client = new CognitoIdentityClient({ region: config.region });
  const logins = { [`cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`]: idToken };
  const { IdentityId } = await client.send(
    new GetIdCommand({ IdentityPoolId: config.identityPoolId, Logins: logins }),
  );
  const { Credentials: c } = await client.send(
    new GetCredentialsForIdentityCommand({ IdentityId, Logins: logins }),
  );
  if (!c?.AccessKeyId || !c.SecretKey) throw new Error('the identity pool returned no credentials');
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretKey,
    ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
    ...(c.Expiration ? { expiration: c.Expiration.getTime() } : {}),
  };
}

/** A sign-in step that needs the user: a new password on first sign-in. */
export class NewPasswordRequired extends Error {
  constructor(readonly complete: (password: string) => Promise<SigningCredentials>) {
    super('Choose a new password: this is your first sign-in');
    this.name = 'NewPasswordRequired';
  }
}

/** Signs in with SRP (the password never leaves the browser) and returns API credentials. */
export function signInWithPassword(
  config: CognitoConfig,
  email: string,
  password: string,
): Promise<SigningCredentials> {
  const user = new CognitoUser({ Username: email, Pool: pool(config), Storage: sessionStorage });
  return new Promise((resolve, reject) => {
    const callbacks = {
      onSuccess: (session: CognitoUserSession) =>
        identityCredentials(config, session.getIdToken().getJwtToken()).then(resolve, reject),
      onFailure: (err: Error) => reject(err),
      newPasswordRequired: () =>
        reject(
          new NewPasswordRequired(
            (next) =>
              new Promise((res, rej) =>
                user.completeNewPasswordChallenge(
                  next,
                  {},
                  {
                    onSuccess: (session) =>
                      identityCredentials(config, session.getIdToken().getJwtToken()).then(res, rej),
                    onFailure: rej,
                  },
                ),
              ),
          ),
        ),
    };
    user.authenticateUser(new AuthenticationDetails({ Username: email, Password: password }), callbacks);
  });
}

/**
 * New temporary credentials from the remembered session (its refresh token renews the ID
 * token when needed), or undefined when the user must sign in again.
 */
export function refreshCognitoCredentials(config: CognitoConfig): Promise<SigningCredentials | undefined> {
  const user = pool(config).getCurrentUser();
  if (!user) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    user.getSession((err: Error | null, session: CognitoUserSession | null) => {
      if (err || !session?.isValid()) return resolve(undefined);
      identityCredentials(config, session.getIdToken().getJwtToken()).then(resolve, () => resolve(undefined));
    });
  });
}

export function signOutCognito(config: CognitoConfig): void {
  pool(config).getCurrentUser()?.signOut();
}

export function isCognitoConfig(c: ConsoleConfig): c is CognitoConfig {
  return c.auth === 'cognito' && !!c.region && !!c.userPoolId && !!c.clientId && !!c.identityPoolId;
}
