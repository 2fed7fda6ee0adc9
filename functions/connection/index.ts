/** GET /connection: the signed-in user's offline-access status, so the app knows when to ask again. */
import { bearerIdToken, httpHandler, jsonResponse } from '../../lib/http';
import { connectionFunction } from '../../lib/runtime/connection';

connectionFunction.prepare();

export const handler = httpHandler(async (request) => {
  const idToken = bearerIdToken(request);
  return jsonResponse(200, await (await connectionFunction.service()).connection(idToken));
});
