/**
 * The Google services functions share, built once per execution environment. The ID-token
 * verifier is apart (`id-tokens.ts`): the worker and the token function never verify one,
 * and so do not carry jose.
 */
import { secretsClient } from '../aws/clients/secrets-manager';
import { googleConfig, type GoogleConfig } from '../config';
import { loadClientCredentials, type OAuthClientCredentials } from '../google/client-secret';
import { googleEndpoints, type GoogleEndpoints } from '../google/endpoints';
import { GoogleOAuth } from '../google/oauth';
import { once, onceAsync } from '../memo';

export interface GoogleServices {
  config: GoogleConfig;
  endpoints: GoogleEndpoints;
  credentials: OAuthClientCredentials;
  oauth: GoogleOAuth;
  /** Every client ID an ID token or security event may be addressed to: the server's and the apps'. */
  trustedClientIds: string[];
}

export const googleSetup = once(() => {
  const config = googleConfig();
  return { config, endpoints: googleEndpoints(config.emulatorHost) };
});

export const googleServices = onceAsync(async (): Promise<GoogleServices> => {
  const { config, endpoints } = googleSetup();
  const creds = await loadClientCredentials(config.clientSecret, secretsClient);
  return {
    config,
    endpoints,
    credentials: creds,
    oauth: new GoogleOAuth(creds, endpoints),
    trustedClientIds: [creds.clientId, ...config.allowedAzp],
  };
});

/**
 * Validates the Google configuration synchronously (a bad variable fails the cold start by
 * name) and starts loading the client secret during init, so the first request need not wait.
 * A failed load is not kept: the first request tries again and reports the error.
 */
export function prepareGoogleServices(): void {
  googleSetup();
  googleServices().catch(() => undefined);
}
