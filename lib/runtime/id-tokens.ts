/**
 * The Google ID-token verifier (jose) of the functions that take an ID token: exchange,
 * disconnect, connection. Its own module, so the bundles that never verify one do not carry it.
 */
import { GoogleKeySet, IdTokenVerifier } from '../google/token-verifier';
import { logger } from '../log';
import { once, onceAsync } from '../memo';
import { googleServices, googleSetup, prepareGoogleServices } from './google';

const keySet = once(() => {
  const { config, endpoints } = googleSetup();
  if (!config.allowedAzp.length) {
    // Loud on purpose: without it, an ID token Google issued to any app for our server client is accepted.
    logger.warn(
      'GOOGLE_ALLOWED_AZP is empty: ID tokens are accepted whatever app client (azp) they were issued to. ' +
        'Set it to your Android/iOS client IDs.',
    );
  }
  return new GoogleKeySet(endpoints.pemCertsUrl, 'pem-certificates');
});

/** The verifier for ID tokens addressed to our server client (the audience comes with the client secret). */
export const idTokenVerifier = onceAsync(async (): Promise<IdTokenVerifier> => {
  const google = await googleServices();
  return new IdTokenVerifier(keySet(), { audience: google.credentials.clientId, allowedAzp: google.config.allowedAzp });
});

/** `prepareGoogleServices`, plus the verifier's configuration checked (and its warning logged) at cold start. */
export function prepareIdTokens(): void {
  prepareGoogleServices();
  keySet();
}
