/** POST /risc: Google Cross-Account Protection pushes security event tokens here. */
import { dynamoClient } from '../../lib/aws/clients';
import { requireEnv } from '../../lib/config';
import { httpHandler } from '../../lib/http';
import { onceAsync } from '../../lib/memo';
import { acceptedResponse, createRiscReceiver, readSecurityEventToken, riscIssuer } from '../../lib/risc';
import { googleServices, validateGoogleConfig } from '../../lib/runtime';
import { TokenStore } from '../../lib/store/token-store';

// Validated at cold start. The store is built here, not through runtime.tokenStore(): this
// function never decrypts, so it must not require (or be granted) KMS_KEY_ID.
const store = new TokenStore(dynamoClient(), requireEnv('TABLE_NAME'));
const issuer = riscIssuer();
validateGoogleConfig();

const receiver = onceAsync(async () => {
  const google = await googleServices();
  return createRiscReceiver({ store, audiences: google.trustedClientIds, endpoints: google.endpoints, issuer });
});

export const handler = httpHandler(async (request) => {
  await (await receiver()).receive(readSecurityEventToken(request));
  return acceptedResponse();
});
