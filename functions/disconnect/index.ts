/** POST /disconnect: the signed-in user takes offline access back. */
import { sqsClient } from '../../lib/aws/clients';
import { requireEnv } from '../../lib/config';
import { Disconnect, SqsRevocationQueue, bearerIdToken } from '../../lib/disconnect';
import { httpHandler, jsonResponse, requireRequestedWithHeader } from '../../lib/http';
import { onceAsync } from '../../lib/memo';
import { googleServices, tokenCipher, tokenStore, prepareGoogleServices } from '../../lib/runtime';

// Read and validate configuration at cold start: a bad variable fails loudly, by name.
const store = tokenStore();
const cipher = tokenCipher();
const revocations = new SqsRevocationQueue(sqsClient(), requireEnv('REFRESH_QUEUE_URL'));
prepareGoogleServices();

const disconnect = onceAsync(async () => {
  const google = await googleServices();
  return new Disconnect({ store, cipher, oauth: google.oauth, idTokens: google.idTokens, revocations });
});

export const handler = httpHandler(async (request) => {
  requireRequestedWithHeader(request);
  const idToken = bearerIdToken(request);
  return jsonResponse(200, await (await disconnect()).disconnect(idToken));
});
