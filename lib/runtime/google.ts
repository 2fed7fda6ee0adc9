/** The Google services functions share, built once per execution environment. */
import { secretsClient } from '../aws/clients/secrets-manager';
import { googleConfig, type GoogleConfig } from '../config';
import { loadClientCredentials, type OAuthClientCredentials } from '../google/client-secret';
import { googleEndpoints, type GoogleEndpoints } from '../google/endpoints';
import { GoogleOAuth } from '../google/oauth';
import { GoogleKeySet, IdTokenVerifier } from '../google/token-verifier';
import { logger } from '../log';
import { once, onceAsync } from '../memo';

export interface GoogleServices {
  config: GoogleConfig;
  endpoints: GoogleEndpoints;
  credentials: OAuthClientCredentials;
  oauth: GoogleOAuth;
  idTokens: IdTokenVerifier;
  /** Every client ID an ID token or security event may be addressed to: the server's and the apps'. */
  trustedClientIds: string[];
}

const googleSetup = once(() => {
  const config = googleConfig();
  const endpoints = googleEndpoints(config.emulatorHost);
  const certs = new GoogleKeySet(endpoints.pemCertsUrl, 'pem-certificates');
  if (!config.allowedAzp.length) {
    // Loud on purpose: without it, an ID token Google issued to any app for our server client is accepted.
    logger.warn(
      'GOOGLE_ALLOWED_AZP is empty: ID tokens are accepted whatever app client (azp) they were issued to. ' +
        'Set it to your Android/iOS client IDs.',
    );
  }
  return { config, endpoints, certs };
});

export const googleServices = onceAsync(async (): Promise<GoogleServices> => {
  const { config, endpoints, certs } = googleSetup();
  const creds = await loadClientCredentials(config.clientSecret, secretsClient);
  return {
    config,
    endpoints,
    credentials: creds,
    oauth: new GoogleOAuth(creds, endpoints),
    idTokens: new IdTokenVerifier(certs, { audience: creds.clientId, allowedAzp: config.allowedAzp }),
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
