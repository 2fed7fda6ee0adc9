/** Wiring of `POST /disconnect`. */
import { Disconnect } from '../disconnect';
import { OfflineJobCleanup } from '../jobs/cleanup';
import { driveClientFactory } from '../jobs/drive';
import { composition } from './composition';
import { jobStateStore, userStore } from './aws';
import { revocationQueue } from './revocation-queue';
import { tokenCipher } from './cipher';
import { googleServices, prepareGoogleServices } from './google';

export const disconnectFunction = composition({
  prepare() {
    userStore();
    tokenCipher();
    revocationQueue();
    prepareGoogleServices();
  },
  async build() {
    const google = await googleServices();
    return new Disconnect({
      store: userStore(),
      cipher: tokenCipher(),
      oauth: google.oauth,
      idTokens: google.idTokens,
      revocations: revocationQueue(),
      jobCleanup: new OfflineJobCleanup({
        states: jobStateStore(),
        oauth: google.oauth,
        driveFor: driveClientFactory(google.config.emulatorHost ? { rootUrl: google.endpoints.apiRootUrl } : {}),
      }),
    });
  },
});
