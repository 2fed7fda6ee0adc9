/** POST /risc: Google Cross-Account Protection pushes security event tokens here. */
import { listEnv, optionalEnv } from '../../lib/config';
import { googleEndpoints } from '../../lib/google/endpoints';
import { httpHandler } from '../../lib/http';
import { onceAsync } from '../../lib/memo';
import { acceptedResponse, createRiscReceiver, readSecurityEventToken, riscIssuer } from '../../lib/risc';
import { googleServices, tokenStore, prepareGoogleServices } from '../../lib/runtime';

// Validated at cold start. This function never decrypts: it needs no KMS_KEY_ID.
const store = tokenStore();
const issuer = riscIssuer();
// A security event is addressed to the client ID only: with GOOGLE_CLIENT_ID set (the
// deployed stack sets it when `googleClientId` is given) the client secret is never read.
const clientId = optionalEnv('GOOGLE_CLIENT_ID');
if (!clientId) prepareGoogleServices();

const receiver = onceAsync(async () => {
  if (clientId) {
    const emulatorHost = optionalEnv('GOOGLE_EMULATOR_HOST');
    const audiences = [clientId, ...listEnv('GOOGLE_ALLOWED_AZP', /\s*,\s*/)];
    return createRiscReceiver({ store, audiences, endpoints: googleEndpoints(emulatorHost), issuer });
  }
  const google = await googleServices();
  return createRiscReceiver({ store, audiences: google.trustedClientIds, endpoints: google.endpoints, issuer });
});

export const handler = httpHandler(async (request) => {
  await (await receiver()).receive(readSecurityEventToken(request));
  return acceptedResponse();
});
