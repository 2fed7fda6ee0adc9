/** POST /disconnect: the signed-in user takes offline access back. */
import { bearerIdToken, httpHandler, jsonResponse, requireRequestedWithHeader } from '../../lib/http';
import { disconnectFunction } from '../../lib/runtime/disconnect';

disconnectFunction.prepare();

export const handler = httpHandler(async (request) => {
  requireRequestedWithHeader(request);
  const idToken = bearerIdToken(request);
  return jsonResponse(200, await (await disconnectFunction.service()).disconnect(idToken));
});
