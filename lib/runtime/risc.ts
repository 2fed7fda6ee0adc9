/** Wiring of `POST /risc`. It never decrypts: no KMS key. */
import { OfflineJobCleanup } from '../jobs/cleanup';
import { createRiscReceiver, riscIssuer } from '../risc';
import { once } from '../memo';
import { composition } from './composition';
import { jobStateStore, securityEventLedger, userStore } from './aws';
import { googleServices, prepareGoogleServices } from './google';

const issuer = once(() => riscIssuer());

export const riscFunction = composition({
  prepare() {
    userStore();
    securityEventLedger();
    issuer();
    prepareGoogleServices();
  },
  async build() {
    const google = await googleServices();
    return createRiscReceiver({
      store: userStore(),
      securityEvents: securityEventLedger(),
      audiences: google.trustedClientIds,
      endpoints: google.endpoints,
      issuer: issuer(),
      jobCleanup: new OfflineJobCleanup({ states: jobStateStore() }),
    });
  },
});
