/** POST /risc: Google Cross-Account Protection pushes security event tokens here. */
import { httpHandler } from '../../lib/http';
import { onceAsync } from '../../lib/memo';
import { acceptedResponse, createRiscReceiver, readSecurityEventToken, riscIssuer } from '../../lib/risc';
import { googleServices, tokenStore, prepareGoogleServices } from '../../lib/runtime';

// Validated at cold start. This function never decrypts: it needs no KMS_KEY_ID.
const store = tokenStore();
const issuer = riscIssuer();
prepareGoogleServices();

const receiver = onceAsync(async () => {
  const google = await googleServices();
  return createRiscReceiver({ store, audiences: google.trustedClientIds, endpoints: google.endpoints, issuer });
});

export const handler = httpHandler(async (request) => {
  await (await receiver()).receive(readSecurityEventToken(request));
  return acceptedResponse();
});
