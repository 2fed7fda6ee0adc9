/** POST /authcode: the app's one-time server auth code in, the user's offline-access status out. */
import { validateAuthCode, validateRedirectUri } from '../../lib/exchange';
import { httpHandler, jsonResponse, readBodyField, requireRequestedWithHeader } from '../../lib/http';
import { exchangeFunction } from '../../lib/runtime/exchange';

exchangeFunction.prepare();

export const handler = httpHandler(async (request) => {
  requireRequestedWithHeader(request);
  const authCode = validateAuthCode(readBodyField(request, 'authCode'));
  const redirectUri = validateRedirectUri(readBodyField(request, 'redirectUri'));
  return jsonResponse(200, await (await exchangeFunction.service()).exchange(authCode, { redirectUri }));
});
