/**
 * Wiring of `POST /risc`. It never decrypts (no KMS key), and a security event is addressed
 * to the client ID only: with GOOGLE_CLIENT_ID set (the deployed stack sets it when
 * `googleClientId` is given) the client secret is never read.
 */
import { listEnv, optionalEnv } from '../config';
import { googleEndpoints } from '../google/endpoints';
import { OfflineJobCleanup } from '../jobs/cleanup';
import { once } from '../memo';
import { createRiscReceiver, riscIssuer } from '../risc';
import { jobStateStore, securityEventLedger, userStore } from './aws';
import { composition } from './composition';
import { googleServices, prepareGoogleServices } from './google';

const setup = once(() => ({ issuer: riscIssuer(), clientId: optionalEnv('GOOGLE_CLIENT_ID') }));

export const riscFunction = composition({
  prepare() {
    userStore();
    securityEventLedger();
    if (!setup().clientId) prepareGoogleServices();
  },
  async build() {
    const { issuer, clientId } = setup();
    const google = clientId ? clientIdOnly(clientId) : await googleServices();
    return createRiscReceiver({
      store: userStore(),
      securityEvents: securityEventLedger(),
      audiences: google.trustedClientIds,
      endpoints: google.endpoints,
      issuer,
      jobCleanup: new OfflineJobCleanup({ states: jobStateStore() }),
    });
  },
});

/** The audiences and endpoints a receiver needs, from configuration alone. */
function clientIdOnly(clientId: string) {
  return {
    trustedClientIds: [clientId, ...listEnv('GOOGLE_ALLOWED_AZP', /\s*,\s*/)],
    endpoints: googleEndpoints(optionalEnv('GOOGLE_EMULATOR_HOST')),
  };
}
