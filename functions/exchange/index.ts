/** POST /authcode: the app's one-time server auth code in, the user's offline-access status out. */
import { AuthCodeExchange, validateAuthCode } from '../../lib/exchange';
import { httpHandler, jsonResponse, readBodyField, requireRequestedWithHeader } from '../../lib/http';
import { onceAsync } from '../../lib/memo';
import { googleServices, tokenCipher, tokenStore, prepareGoogleServices } from '../../lib/runtime';

// Read and validate configuration at cold start: a bad variable fails loudly, by name.
const store = tokenStore();
const cipher = tokenCipher();
prepareGoogleServices();

const exchange = onceAsync(async () => {
  const google = await googleServices();
  return new AuthCodeExchange({
    store,
    cipher,
    oauth: google.oauth,
    idTokens: google.idTokens,
    requiredScopes: google.config.requiredScopes,
    redirectUri: google.config.redirectUri,
  });
});

export const handler = httpHandler(async (request) => {
  requireRequestedWithHeader(request);
  const authCode = validateAuthCode(readBodyField(request, 'authCode'));
  return jsonResponse(200, await (await exchange()).exchange(authCode));
});
